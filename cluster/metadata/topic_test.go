package metadata

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/local"
	"github.com/sluice-mq/sluice/messages"
)

func newStore(t *testing.T) cluster.Store {
	t.Helper()
	st, err := local.Open(t.TempDir(), local.WithWaitTime(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func ordersTopic() Topic {
	return Topic{
		Name:     "orders",
		Configs:  map[string]string{ConfigRetentionMs: "3600000"},
		Replicas: [][]int32{{1, 2}, {2, 3}, {3, 1}},
	}
}

func TestTopicCreateGet(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if err := CreateTopic(ctx, st, ordersTopic(), nil); err != nil {
		t.Fatal(err)
	}
	got, err := GetTopic(ctx, st, "orders")
	if err != nil {
		t.Fatal(err)
	}
	want := ordersTopic()
	if got.Name != want.Name || !reflect.DeepEqual(got.Replicas, want.Replicas) ||
		!reflect.DeepEqual(got.Configs, want.Configs) || len(got.ID) != 32 || got.Version == 0 {
		t.Fatalf("GetTopic = %+v", got)
	}
	if got.Partitions() != 3 || got.ReplicationFactor() != 2 {
		t.Fatalf("partitions %d rf %d", got.Partitions(), got.ReplicationFactor())
	}
	cfg, err := got.Config(DefaultTopicConfig())
	if err != nil || cfg.Retention != time.Hour {
		t.Fatalf("Config = %+v, %v", cfg, err)
	}
	for p, r := range want.Replicas {
		s, err := GetPartitionState(ctx, st, "orders", int32(p))
		if err != nil {
			t.Fatal(err)
		}
		if s.Leader != r[0] || s.LeaderEpoch != 0 || !reflect.DeepEqual(s.ISR, r) || s.Version == 0 {
			t.Fatalf("partition %d state = %+v, want leader %d isr %v", p, s, r[0], r)
		}
	}
}

func TestTopicCreateErrors(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if err := CreateTopic(ctx, st, ordersTopic(), nil); err != nil {
		t.Fatal(err)
	}
	dup := ordersTopic()
	dup.Replicas = [][]int32{{9}}
	err := CreateTopic(ctx, st, dup, nil)
	if !errors.Is(err, messages.ErrTopicAlreadyExists) {
		t.Fatalf("duplicate create = %v, want ErrTopicAlreadyExists", err)
	}
	// The failed create touched nothing.
	if s, _ := GetPartitionState(ctx, st, "orders", 0); s.Leader != 1 {
		t.Fatalf("state overwritten by failed create: %+v", s)
	}

	cases := []struct {
		topic Topic
		want  error
	}{
		{Topic{Name: "bad name", Replicas: [][]int32{{1}}}, messages.ErrInvalidTopic},
		{Topic{Name: "none"}, messages.ErrInvalidPartitions},
		{Topic{Name: "ragged", Replicas: [][]int32{{1, 2}, {1}}}, messages.ErrInvalidReplicaAssignment},
		{Topic{Name: "twice", Replicas: [][]int32{{1, 1}}}, messages.ErrInvalidReplicaAssignment},
	}
	for _, tc := range cases {
		if err := CreateTopic(ctx, st, tc.topic, nil); !errors.Is(err, tc.want) {
			t.Errorf("CreateTopic(%+v) = %v, want %v", tc.topic, err, tc.want)
		}
	}
}

func TestTopicListUpdateDelete(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	for _, name := range []string{"zeta", "alpha", "mid"} {
		if err := CreateTopic(ctx, st, Topic{Name: name, Replicas: [][]int32{{1}}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	topics, err := ListTopics(ctx, st)
	if err != nil || len(topics) != 3 || topics[0].Name != "alpha" || topics[2].Name != "zeta" {
		t.Fatalf("ListTopics = %+v, %v", topics, err)
	}

	// Update by CAS; a stale copy loses.
	mid, _ := GetTopic(ctx, st, "mid")
	stale := mid.Clone()
	mid.Replicas = append(mid.Replicas, []int32{1})
	if _, err := UpdateTopic(ctx, st, mid); err != nil {
		t.Fatal(err)
	}
	stale.Configs = map[string]string{ConfigSegmentBytes: "2048"}
	if _, err := UpdateTopic(ctx, st, stale); !errors.Is(err, cluster.ErrVersionMismatch) {
		t.Fatalf("stale UpdateTopic = %v, want ErrVersionMismatch", err)
	}
	if got, _ := GetTopic(ctx, st, "mid"); got.Partitions() != 2 || got.Configs != nil {
		t.Fatalf("after updates: %+v", got)
	}

	if err := DeleteTopic(ctx, st, "mid"); err != nil {
		t.Fatal(err)
	}
	if _, err := GetTopic(ctx, st, "mid"); !errors.Is(err, messages.ErrUnknownTopicOrPartition) {
		t.Fatalf("GetTopic after delete = %v", err)
	}
	if _, err := GetPartitionState(ctx, st, "mid", 0); !errors.Is(err, messages.ErrUnknownTopicOrPartition) {
		t.Fatalf("state after delete = %v", err)
	}
	if err := DeleteTopic(ctx, st, "mid"); !errors.Is(err, messages.ErrUnknownTopicOrPartition) {
		t.Fatalf("second delete = %v", err)
	}
	// Other topics' states survive.
	if _, err := GetPartitionState(ctx, st, "alpha", 0); err != nil {
		t.Fatal(err)
	}
}

func TestTopicRecreateGetsNewIDAndOverwritesLeftovers(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if err := CreateTopic(ctx, st, Topic{Name: "t", Replicas: [][]int32{{1}, {1}}}, nil); err != nil {
		t.Fatal(err)
	}
	old, _ := GetTopic(ctx, st, "t")
	// An interrupted delete: topic key gone, a bumped state left behind.
	s, _ := GetPartitionState(ctx, st, "t", 0)
	if _, err := CASPartitionState(ctx, st, "t", 0, PartitionState{Leader: 1, LeaderEpoch: 7, ISR: []int32{1}}, s.Version); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, TopicKey("t"), 0); err != nil {
		t.Fatal(err)
	}
	if err := CreateTopic(ctx, st, Topic{Name: "t", Replicas: [][]int32{{2}}}, nil); err != nil {
		t.Fatal(err)
	}
	fresh, _ := GetTopic(ctx, st, "t")
	if fresh.ID == old.ID {
		t.Fatal("recreated topic kept the old id")
	}
	if s, _ := GetPartitionState(ctx, st, "t", 0); s.Leader != 2 || s.LeaderEpoch != 0 {
		t.Fatalf("leftover state not overwritten: %+v", s)
	}
	// The snapshot ignores the leftover state of partition 1.
	snap, err := Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := snap.State("t", 1); ok || len(snap.States) != 1 {
		t.Fatalf("snapshot states = %v", snap.States)
	}
}

func TestPartitionStateCAS(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if err := CreateTopic(ctx, st, Topic{Name: "t", Replicas: [][]int32{{1, 2, 3}}}, nil); err != nil {
		t.Fatal(err)
	}
	s, _ := GetPartitionState(ctx, st, "t", 0)
	shrunk := PartitionState{Leader: 1, LeaderEpoch: 0, ISR: []int32{1, 2}}
	v, err := CASPartitionState(ctx, st, "t", 0, shrunk, s.Version)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CASPartitionState(ctx, st, "t", 0, PartitionState{Leader: 3, LeaderEpoch: 1, ISR: []int32{3}}, s.Version); !errors.Is(err, cluster.ErrVersionMismatch) {
		t.Fatalf("stale CAS = %v", err)
	}
	got, _ := GetPartitionState(ctx, st, "t", 0)
	if got.Version != v || !reflect.DeepEqual(got.ISR, shrunk.ISR) {
		t.Fatalf("state = %+v", got)
	}
	if _, err := GetPartitionState(ctx, st, "t", 5); !errors.Is(err, messages.ErrUnknownTopicOrPartition) {
		t.Fatalf("missing partition = %v", err)
	}
}

func TestSnapshotLoadAndWatch(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if err := CreateTopic(ctx, st, ordersTopic(), nil); err != nil {
		t.Fatal(err)
	}
	snap, err := Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if names := snap.TopicNames(); len(names) != 1 || names[0] != "orders" || len(snap.States) != 3 || snap.Index == 0 {
		t.Fatalf("snapshot = %+v", snap)
	}
	if s, ok := snap.State("orders", 2); !ok || s.Leader != 3 {
		t.Fatalf("state orders/2 = %+v %v", s, ok)
	}

	done := make(chan Snapshot, 1)
	go func() {
		index := snap.Index
		for {
			next, err := WatchSnapshot(ctx, st, index)
			if err != nil {
				close(done)
				return
			}
			if _, ok := next.Topics["payments"]; ok && len(next.States) == 4 {
				done <- next
				return
			}
			index = next.Index
		}
	}()
	if err := CreateTopic(ctx, st, Topic{Name: "payments", Replicas: [][]int32{{1}}}, nil); err != nil {
		t.Fatal(err)
	}
	next, ok := <-done
	if !ok || next.Index <= snap.Index {
		t.Fatalf("WatchSnapshot = %+v, %v", next, ok)
	}
}

func TestSnapshotMalformed(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if _, err := st.CAS(ctx, TopicKey("x"), []byte("{not json"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ctx, st); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Load = %v, want ErrMalformed", err)
	}
}

func TestTopicAddPartitions(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if err := CreateTopic(ctx, st, Topic{Name: "t", Replicas: [][]int32{{1, 2}}}, nil); err != nil {
		t.Fatal(err)
	}
	topic, _ := GetTopic(ctx, st, "t")
	grown, err := AddPartitions(ctx, st, topic, [][]int32{{2, 1}, {1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if grown.Partitions() != 3 || grown.Version <= topic.Version {
		t.Fatalf("grown = %+v", grown)
	}
	if s, err := GetPartitionState(ctx, st, "t", 1); err != nil || s.Leader != 2 || len(s.ISR) != 2 {
		t.Fatalf("new partition state = %+v, %v", s, err)
	}
	// The stale topic loses and nothing is written.
	if _, err := AddPartitions(ctx, st, topic, [][]int32{{1, 2}}); !errors.Is(err, cluster.ErrVersionMismatch) {
		t.Fatalf("stale AddPartitions = %v", err)
	}
	if got, _ := GetTopic(ctx, st, "t"); got.Partitions() != 3 {
		t.Fatalf("partitions after stale add = %d", got.Partitions())
	}
}

func TestClusterIDStable(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	id, err := EnsureClusterID(ctx, st)
	if err != nil || len(id) != 32 {
		t.Fatalf("EnsureClusterID = %q, %v", id, err)
	}
	again, err := EnsureClusterID(ctx, st)
	if err != nil || again != id {
		t.Fatalf("second EnsureClusterID = %q, %v; want %q", again, err, id)
	}
	snap, err := Load(ctx, st)
	if err != nil || snap.ClusterID != id {
		t.Fatalf("snapshot cluster id = %q, %v", snap.ClusterID, err)
	}
}
