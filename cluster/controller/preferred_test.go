package controller

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

func TestControllerElectPreferredTable(t *testing.T) {
	state := func(leader, epoch int32, isr ...int32) metadata.PartitionState {
		return metadata.PartitionState{Leader: leader, LeaderEpoch: epoch, ISR: isr}
	}
	set := func(nodes ...int32) map[int32]bool {
		m := map[int32]bool{}
		for _, n := range nodes {
			m[n] = true
		}
		return m
	}
	replicas := []int32{1, 2, 3}
	cases := []struct {
		name    string
		state   metadata.PartitionState
		live    map[int32]bool
		leaving map[int32]bool
		code    messages.ErrorCode
		want    metadata.PartitionState
	}{
		// The preferred replica takes over in a new epoch; the ISR stays.
		{"moves back", state(2, 4, 2, 3, 1), set(1, 2, 3), nil, messages.ErrorCode_NONE, state(1, 5, 2, 3, 1)},
		{"from an offline partition", state(-1, 4, 1), set(1), nil, messages.ErrorCode_NONE, state(1, 5, 1)},
		// Nothing to do, or nothing safe to do.
		{"already leads", state(1, 4, 1, 2), set(1, 2, 3), nil, messages.ErrorCode_ELECTION_NOT_NEEDED, metadata.PartitionState{}},
		{"not live", state(2, 4, 2, 3, 1), set(2, 3), nil, messages.ErrorCode_PREFERRED_LEADER_NOT_AVAILABLE, metadata.PartitionState{}},
		{"not in sync", state(2, 4, 2, 3), set(1, 2, 3), nil, messages.ErrorCode_PREFERRED_LEADER_NOT_AVAILABLE, metadata.PartitionState{}},
		{"shutting down", state(2, 4, 2, 3, 1), set(1, 2, 3), set(1), messages.ErrorCode_PREFERRED_LEADER_NOT_AVAILABLE, metadata.PartitionState{}},
	}
	for _, tc := range cases {
		out := electPreferred(replicas, tc.state, nodeSet{live: tc.live, leaving: tc.leaving})
		if out.code != tc.code || !reflect.DeepEqual(out.next, tc.want) {
			t.Errorf("%s: electPreferred = %v %+v (%s), want %v %+v", tc.name, out.code, out.next, out.message, tc.code, tc.want)
		}
	}
}

// setState overwrites a partition's state (test setup).
func (f fixture) setState(t *testing.T, topic string, p int32, s metadata.PartitionState) {
	t.Helper()
	ctx := context.Background()
	cur, err := metadata.GetPartitionState(ctx, f.store, topic, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := metadata.CASPartitionState(ctx, f.store, topic, p, s, cur.Version); err != nil {
		t.Fatal(err)
	}
}

func (f fixture) state(t *testing.T, topic string, p int32) metadata.PartitionState {
	t.Helper()
	s, err := metadata.GetPartitionState(context.Background(), f.store, topic, p)
	if err != nil {
		t.Fatal(err)
	}
	s.Version = 0
	return s
}

func TestControllerElectRequest(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2, 3)
	f.create(t, "t", 3, 3, nil) // replicas [1 2 3] [2 3 1] [3 1 2]
	// After a failover of node 1 and its return: t/0 is led by 2; t/2
	// has node 3 out of sync.
	f.setState(t, "t", 0, metadata.PartitionState{Leader: 2, LeaderEpoch: 1, ISR: []int32{2, 3, 1}})
	f.setState(t, "t", 2, metadata.PartitionState{Leader: 1, LeaderEpoch: 1, ISR: []int32{1, 2}})

	resp := f.ctl.Elect(ctx, &messages.ElectLeadersRequest{Topics: []*messages.ElectLeadersTopic{{Topic: "t"}, {Topic: "nope"}}})
	if resp.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("Elect: %v %s", resp.ErrorCode, resp.ErrorMessage)
	}
	got := map[metadata.TopicPartition]messages.ErrorCode{}
	for _, r := range resp.Results {
		got[metadata.TopicPartition{Topic: r.Topic, Partition: r.Partition}] = r.ErrorCode
	}
	want := map[metadata.TopicPartition]messages.ErrorCode{
		{Topic: "t", Partition: 0}:    messages.ErrorCode_NONE,
		{Topic: "t", Partition: 1}:    messages.ErrorCode_ELECTION_NOT_NEEDED,
		{Topic: "t", Partition: 2}:    messages.ErrorCode_PREFERRED_LEADER_NOT_AVAILABLE,
		{Topic: "nope", Partition: 0}: messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("results %v, want %v", got, want)
	}
	if s := f.state(t, "t", 0); !reflect.DeepEqual(s, metadata.PartitionState{Leader: 1, LeaderEpoch: 2, ISR: []int32{2, 3, 1}}) {
		t.Fatalf("t/0 after election = %+v", s)
	}
	if n := f.ctl.Stats().Preferred.Load(); n != 1 {
		t.Fatalf("preferred elections counted %d, want 1", n)
	}

	// Unclean: only a partition without a live leader and live ISR.
	f.create(t, "u", 1, 2, nil) // replicas [1 2]
	f.setState(t, "u", 0, metadata.PartitionState{Leader: -1, LeaderEpoch: 3, ISR: []int32{1}})
	f.members.set(2, 3)
	resp = f.ctl.Elect(ctx, &messages.ElectLeadersRequest{ElectionType: messages.ElectionType_UNCLEAN,
		Topics: []*messages.ElectLeadersTopic{{Topic: "u"}, {Topic: "t", Partitions: []int32{1}}}})
	if len(resp.Results) != 2 || resp.Results[0].ErrorCode != messages.ErrorCode_NONE || resp.Results[0].Leader != 2 ||
		resp.Results[1].ErrorCode != messages.ErrorCode_ELECTION_NOT_NEEDED {
		t.Fatalf("unclean results %v", resp.Results)
	}
	if s := f.state(t, "u", 0); !reflect.DeepEqual(s, metadata.PartitionState{Leader: 2, LeaderEpoch: 4, ISR: []int32{2}}) {
		t.Fatalf("u/0 after unclean election = %+v", s)
	}
	if f.ctl.Stats().Unclean.Load() != 1 {
		t.Fatalf("unclean elections counted %d, want 1", f.ctl.Stats().Unclean.Load())
	}
}

func TestControllerElectRequestLeavesReassignmentsAlone(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2, 3, 4)
	f.create(t, "t", 1, 3, nil) // replicas [1 2 3]
	f.setState(t, "t", 0, metadata.PartitionState{Leader: 2, LeaderEpoch: 1, ISR: []int32{1, 2, 3}})
	if r := f.ctl.ReassignPartition(ctx, &messages.ReassignPartitionRequest{Topic: "t", Replicas: []int32{4, 2, 3}}); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("reassign: %v %s", r.ErrorCode, r.ErrorMessage)
	}
	resp := f.ctl.Elect(ctx, &messages.ElectLeadersRequest{})
	if len(resp.Results) != 1 || resp.Results[0].ErrorCode != messages.ErrorCode_REASSIGNMENT_IN_PROGRESS {
		t.Fatalf("results %v, want REASSIGNMENT_IN_PROGRESS", resp.Results)
	}
	if moved, err := f.ctl.BalanceLeaders(ctx, 0); err != nil || len(moved) != 0 {
		t.Fatalf("BalanceLeaders moved %v, %v; want nothing while reassigning", moved, err)
	}
}

func TestControllerBalanceLeaders(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2, 3)
	f.create(t, "t", 6, 3, nil) // node 1 preferred for t/0, t/3; 2 for t/1, t/4; 3 for t/2, t/5
	// Node 1 failed over and came back: node 2 leads its partitions.
	f.setState(t, "t", 0, metadata.PartitionState{Leader: 2, LeaderEpoch: 1, ISR: []int32{2, 3, 1}})
	f.setState(t, "t", 3, metadata.PartitionState{Leader: 2, LeaderEpoch: 1, ISR: []int32{2, 3, 1}})
	// Node 3 is behind on one of its two: 50% imbalance, but t/5 cannot move.
	f.setState(t, "t", 5, metadata.PartitionState{Leader: 1, LeaderEpoch: 1, ISR: []int32{1, 2}})

	// At 60% only node 1 (100%) is over the threshold.
	moved, err := f.ctl.BalanceLeaders(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	if want := []metadata.TopicPartition{{Topic: "t", Partition: 0}, {Topic: "t", Partition: 3}}; !reflect.DeepEqual(moved, want) {
		t.Fatalf("moved %v, want %v", moved, want)
	}
	for _, p := range []int32{0, 3} {
		if s := f.state(t, "t", p); s.Leader != 1 || s.LeaderEpoch != 2 {
			t.Fatalf("t/%d = %+v, want leader 1 in epoch 2", p, s)
		}
	}
	// Balanced now, except t/5 whose preferred replica is out of sync.
	if moved, err := f.ctl.BalanceLeaders(ctx, 10); err != nil || len(moved) != 0 {
		t.Fatalf("second pass moved %v, %v", moved, err)
	}
	// A node shutting down gets nothing back.
	f.setState(t, "t", 0, metadata.PartitionState{Leader: 2, LeaderEpoch: 3, ISR: []int32{2, 3, 1}})
	if err := metadata.PutShuttingDown(ctx, f.store, 1, time.Now()); err != nil {
		t.Fatal(err)
	}
	if moved, err := f.ctl.BalanceLeaders(ctx, 10); err != nil || len(moved) != 0 {
		t.Fatalf("moved %v to a node shutting down, %v", moved, err)
	}
}

func TestControllerControlledShutdown(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2, 3)
	f.create(t, "t", 3, 3, nil)   // replicas [1 2 3] [2 3 1] [3 1 2]
	f.create(t, "one", 1, 1, nil) // replicas [1]
	members := []cluster.Member{{NodeID: 1}, {NodeID: 2}, {NodeID: 3}}
	snap, err := metadata.Load(ctx, f.store)
	if err != nil {
		t.Fatal(err)
	}
	// Node 1 leads t/0 and follows in t/1 and t/2; one/0 has nowhere
	// else to go.
	pending := ShutdownPending(snap, members, 1)
	if want := []metadata.TopicPartition{{Topic: "t", Partition: 0}, {Topic: "t", Partition: 1}, {Topic: "t", Partition: 2}}; !reflect.DeepEqual(pending, want) {
		t.Fatalf("pending %v, want %v", pending, want)
	}
	if err := metadata.PutShuttingDown(ctx, f.store, 1, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ctl.ElectLeaders(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[int32]metadata.PartitionState{
		0: {Leader: 2, LeaderEpoch: 1, ISR: []int32{2, 3}},
		1: {Leader: 2, LeaderEpoch: 0, ISR: []int32{2, 3}},
		2: {Leader: 3, LeaderEpoch: 0, ISR: []int32{3, 2}},
	}
	for p, w := range want {
		if s := f.state(t, "t", p); !reflect.DeepEqual(s, w) {
			t.Errorf("t/%d = %+v, want %+v", p, s, w)
		}
	}
	if s := f.state(t, "one", 0); s.Leader != 1 {
		t.Errorf("one/0 = %+v, want still led by 1", s)
	}
	if snap, err = metadata.Load(ctx, f.store); err != nil {
		t.Fatal(err)
	}
	if !snap.ShuttingDown[1] {
		t.Fatalf("snapshot lacks the shutdown record: %v", snap.ShuttingDown)
	}
	if pending := ShutdownPending(snap, members, 1); len(pending) != 0 {
		t.Fatalf("still pending after the election: %v", pending)
	}
	// No new replica lands on it.
	if nodes, err := f.ctl.liveNodes(ctx); err != nil || !reflect.DeepEqual(nodes, []int32{2, 3}) {
		t.Fatalf("placement nodes %v, %v; want [2 3]", nodes, err)
	}
	// Cleared (the node restarted): it can lead again.
	if err := metadata.ClearShuttingDown(ctx, f.store, 1); err != nil {
		t.Fatal(err)
	}
	f.setState(t, "t", 0, metadata.PartitionState{Leader: 2, LeaderEpoch: 1, ISR: []int32{2, 3, 1}})
	if moved, err := f.ctl.BalanceLeaders(ctx, 10); err != nil || len(moved) != 1 {
		t.Fatalf("after restart moved %v, %v", moved, err)
	}
}
