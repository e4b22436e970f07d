package metadata

import (
	"context"
	"reflect"
	"testing"
)

// The decoder's snapshots equal full decodes after every kind of change,
// and share what did not change.
func TestDecoderMatchesFullDecode(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	var d Decoder
	check := func(what string) Snapshot {
		t.Helper()
		got, err := d.Load(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Load(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: decoder snapshot\n%+v\nfull decode\n%+v", what, got, want)
		}
		return got
	}
	check("empty store")
	if err := CreateTopic(ctx, st, ordersTopic(), nil); err != nil {
		t.Fatal(err)
	}
	before := check("topic created")
	s := before.States[TopicPartition{Topic: "orders", Partition: 1}]
	if _, err := CASPartitionState(ctx, st, "orders", 1, PartitionState{Leader: 3, LeaderEpoch: 1, ISR: []int32{3}}, s.Version); err != nil {
		t.Fatal(err)
	}
	after := check("state changed")
	// Unchanged topics are shared, not decoded again.
	if &before.Topics["orders"].Replicas[0][0] != &after.Topics["orders"].Replicas[0][0] {
		t.Error("unchanged topic decoded again")
	}
	if after.States[TopicPartition{Topic: "orders", Partition: 1}].Leader != 3 {
		t.Error("changed state not decoded")
	}
	topic := after.Topics["orders"]
	if _, err := AddPartitions(ctx, st, topic, [][]int32{{1, 3}}); err != nil {
		t.Fatal(err)
	}
	check("partitions added")
	if err := DeleteTopic(ctx, st, "orders"); err != nil {
		t.Fatal(err)
	}
	if snap := check("topic deleted"); len(snap.Topics) != 0 || len(snap.States) != 0 {
		t.Fatalf("deleted topic still in %+v", snap)
	}
}

// A retried create's CompleteStates writes the missing states and leaves
// written ones alone.
func TestCompleteStates(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if err := CreateTopic(ctx, st, ordersTopic(), nil); err != nil {
		t.Fatal(err)
	}
	topic, err := GetTopic(ctx, st, "orders")
	if err != nil {
		t.Fatal(err)
	}
	moved, err := GetPartitionState(ctx, st, "orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CASPartitionState(ctx, st, "orders", 0, PartitionState{Leader: 2, LeaderEpoch: 4, ISR: []int32{2}}, moved.Version); err != nil {
		t.Fatal(err)
	}
	for _, p := range []int32{1, 2} { // as if the creator was cut off
		if err := st.Delete(ctx, PartitionStateKey("orders", p), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := CompleteStates(ctx, st, topic); err != nil {
		t.Fatal(err)
	}
	snap, err := Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]PartitionState{
		0: {Leader: 2, LeaderEpoch: 4, ISR: []int32{2}},
		1: {Leader: 2, ISR: []int32{2, 3}},
		2: {Leader: 3, ISR: []int32{3, 1}},
	}
	for p, w := range want {
		got := snap.States[TopicPartition{Topic: "orders", Partition: p}]
		got.Version = 0
		if !reflect.DeepEqual(got, w) {
			t.Errorf("partition %d: state %+v, want %+v", p, got, w)
		}
	}
}
