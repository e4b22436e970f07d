package controller

import (
	"context"
	"slices"
	"testing"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

// partitionOf reads a partition's replicas and state.
func (f fixture) partitionOf(t *testing.T, topic string, p int32) ([]int32, metadata.PartitionState) {
	t.Helper()
	snap, err := metadata.Load(context.Background(), f.store)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := snap.State(topic, p)
	return snap.Topics[topic].Replicas[p], st
}

func (f fixture) reassign(t *testing.T, topic string, p int32, replicas ...int32) *messages.ReassignPartitionResponse {
	t.Helper()
	return f.ctl.ReassignPartition(context.Background(), &messages.ReassignPartitionRequest{Topic: topic, Partition: p, Replicas: replicas})
}

func TestControllerReassignPartitionRefusals(t *testing.T) {
	f := newFixture(t, 1, 2, 3)
	f.create(t, "t", 2, 2, nil) // replicas [1 2] [2 3]
	cases := []struct {
		name      string
		topic     string
		partition int32
		replicas  []int32
		want      messages.ErrorCode
	}{
		{"unknown topic", "nope", 0, []int32{1, 2}, messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION},
		{"unknown partition", "t", 5, []int32{1, 2}, messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION},
		{"no replicas", "t", 0, nil, messages.ErrorCode_INVALID_REPLICA_ASSIGNMENT},
		{"other replication factor", "t", 0, []int32{1, 2, 3}, messages.ErrorCode_INVALID_REPLICA_ASSIGNMENT},
		{"duplicate", "t", 0, []int32{3, 3}, messages.ErrorCode_INVALID_REPLICA_ASSIGNMENT},
		{"not a member", "t", 0, []int32{1, 9}, messages.ErrorCode_INVALID_REPLICA_ASSIGNMENT},
	}
	before := f.storeKeys(t)
	for _, tc := range cases {
		if got := f.reassign(t, tc.topic, tc.partition, tc.replicas...); got.ErrorCode != tc.want {
			t.Errorf("%s: %v %q, want %v", tc.name, got.ErrorCode, got.ErrorMessage, tc.want)
		}
	}
	if after := f.storeKeys(t); !slices.EqualFunc(before, after, func(a, b cluster.KV) bool { return a.Key == b.Key && a.Version == b.Version }) {
		t.Errorf("refused requests wrote to the store")
	}
}

// TestControllerReassignPartitionSteps walks one move: expand (old and new
// replicas, new epoch, the new one not in the ISR), wait while it catches
// up, complete (new list, leader moved off the removed node, new epoch).
func TestControllerReassignPartitionSteps(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2, 3, 4)
	f.create(t, "t", 1, 3, nil) // replicas [1 2 3], leader 1, epoch 0
	if res := f.reassign(t, "t", 0, 4, 2, 3); res.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("reassign: %v %s", res.ErrorCode, res.ErrorMessage)
	}
	if replicas, _ := f.partitionOf(t, "t", 0); !slices.Equal(replicas, []int32{1, 2, 3}) {
		t.Fatalf("the request itself changed the replicas: %v", replicas)
	}
	if done, err := f.ctl.AdvanceReassignments(ctx); err != nil || len(done) != 0 {
		t.Fatalf("AdvanceReassignments = %v, %v", done, err)
	}
	replicas, st := f.partitionOf(t, "t", 0)
	if !slices.Equal(replicas, []int32{1, 2, 3, 4}) || st.Leader != 1 || st.LeaderEpoch != 1 || !slices.Equal(st.ISR, []int32{1, 2, 3}) {
		t.Fatalf("after expand: replicas %v state %+v", replicas, st)
	}
	if res := f.reassign(t, "t", 0, 4, 2, 1); res.ErrorCode != messages.ErrorCode_REASSIGNMENT_IN_PROGRESS {
		t.Errorf("second reassign: %v", res.ErrorCode)
	}
	list := f.ctl.ListReassignments(ctx, &messages.ListReassignmentsRequest{}).GetReassignments()
	if len(list) != 1 || !slices.Equal(list[0].GetAdding(), []int32{4}) || !slices.Equal(list[0].GetRemoving(), []int32{1}) {
		t.Fatalf("ListReassignments = %v", list)
	}

	// Not caught up: a pass changes nothing.
	if done, err := f.ctl.AdvanceReassignments(ctx); err != nil || len(done) != 0 {
		t.Fatalf("AdvanceReassignments = %v, %v", done, err)
	}
	// The leader adds node 4 to the ISR.
	st.ISR = []int32{1, 2, 3, 4}
	if _, err := metadata.CASPartitionState(ctx, f.store, "t", 0, st, st.Version); err != nil {
		t.Fatal(err)
	}
	done, err := f.ctl.ElectLeaders(ctx)
	if err != nil || len(done) != 1 {
		t.Fatalf("ElectLeaders = %v, %v", done, err)
	}
	replicas, st = f.partitionOf(t, "t", 0)
	if !slices.Equal(replicas, []int32{4, 2, 3}) || st.Leader != 4 || st.LeaderEpoch != 2 || !slices.Equal(st.ISR, []int32{2, 3, 4}) {
		t.Fatalf("after complete: replicas %v state %+v", replicas, st)
	}
	if list := f.ctl.ListReassignments(ctx, &messages.ListReassignmentsRequest{}).GetReassignments(); len(list) != 0 {
		t.Errorf("still listed: %v", list)
	}
	// The topic is valid again: configs can be altered.
	if res := f.ctl.AlterConfigs(ctx, &messages.AlterConfigsRequest{Topic: "t", Set: map[string]string{metadata.ConfigRetentionMs: "1000"}}); res.ErrorCode != messages.ErrorCode_NONE {
		t.Errorf("AlterConfigs after the move: %v %s", res.ErrorCode, res.ErrorMessage)
	}
}

// TestControllerReassignPartitionReorder changes only the preferred leader.
func TestControllerReassignPartitionReorder(t *testing.T) {
	f := newFixture(t, 1, 2, 3)
	f.create(t, "t", 1, 3, nil)
	if res := f.reassign(t, "t", 0, 3, 1, 2); res.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("reassign: %v %s", res.ErrorCode, res.ErrorMessage)
	}
	replicas, st := f.partitionOf(t, "t", 0)
	if !slices.Equal(replicas, []int32{3, 1, 2}) || st.LeaderEpoch != 0 {
		t.Fatalf("replicas %v state %+v", replicas, st)
	}
}

// TestControllerReassignmentOfDeletedTopic drops the record of a topic
// deleted mid-move.
func TestControllerReassignmentOfDeletedTopic(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2, 3)
	f.create(t, "t", 1, 2, nil)
	if res := f.reassign(t, "t", 0, 3, 2); res.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("reassign: %v %s", res.ErrorCode, res.ErrorMessage)
	}
	if res := f.ctl.DeleteTopic(ctx, &messages.DeleteTopicRequest{Name: "t"}); res.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("delete: %v", res.ErrorCode)
	}
	if _, err := f.ctl.AdvanceReassignments(ctx); err != nil {
		t.Fatal(err)
	}
	if recs, err := listReassignments(ctx, f.store, ReassignmentsPrefix); err != nil || len(recs) != 0 {
		t.Errorf("records %v, %v", recs, err)
	}
}

// TestControllerReassignmentOfRecreatedTopic: a record left by a deleted
// topic does not block moving the partition of a new topic of that name.
func TestControllerReassignmentOfRecreatedTopic(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2, 3)
	f.create(t, "t", 1, 2, nil)
	if res := f.reassign(t, "t", 0, 3, 2); res.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("reassign: %v %s", res.ErrorCode, res.ErrorMessage)
	}
	if res := f.ctl.DeleteTopic(ctx, &messages.DeleteTopicRequest{Name: "t"}); res.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("delete: %v", res.ErrorCode)
	}
	f.create(t, "t", 1, 2, nil)
	if res := f.reassign(t, "t", 0, 3, 2); res.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("reassign of the new topic: %v %s", res.ErrorCode, res.ErrorMessage)
	}
	if _, err := f.ctl.AdvanceReassignments(ctx); err != nil {
		t.Fatal(err)
	}
	if replicas, _ := f.partitionOf(t, "t", 0); !slices.Equal(replicas, []int32{1, 2, 3}) {
		t.Errorf("replicas %v, want the new topic expanded", replicas)
	}
}
