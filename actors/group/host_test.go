package group

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster/controller"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

func TestHostFindCoordinator(t *testing.T) {
	h := newHarness(t, nil)
	r := call[*messages.FindCoordinatorResponse](h, &messages.FindCoordinatorRequest{GroupId: "app"})
	if r.ErrorCode != messages.ErrorCode_NONE || r.NodeId != 1 || r.Address != h.system.Address() {
		t.Fatalf("find coordinator: %v", r)
	}
	r = call[*messages.FindCoordinatorResponse](h, &messages.FindCoordinatorRequest{})
	if r.ErrorCode != messages.ErrorCode_INVALID_GROUP_ID {
		t.Fatalf("empty group id: %s", r.ErrorCode)
	}
}

func TestHostCreatesOffsetsTopicOnDemand(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.OffsetsPartitions = 7 })
	h.setView(func(v *controller.ClusterView) {
		v.Snapshot.Topics = map[string]metadata.Topic{}
		v.Snapshot.States = nil
	})
	r := call[*messages.FindCoordinatorResponse](h, &messages.FindCoordinatorRequest{GroupId: "app"})
	if r.ErrorCode != messages.ErrorCode_COORDINATOR_NOT_AVAILABLE {
		t.Fatalf("find coordinator without the topic: %s", r.ErrorCode)
	}
	waitFor(t, requestTimeout, func() error {
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(h.created) == 0 {
			return fmt.Errorf("no CreateTopic call")
		}
		return nil
	})
	h.mu.Lock()
	req := h.created[0]
	h.mu.Unlock()
	// One live node: the replication factor is lowered to 1.
	if req.Name != messages.ConsumerOffsetsTopic || req.Partitions != 7 || req.ReplicationFactor != 1 ||
		req.Configs[metadata.ConfigCleanupPolicy] != metadata.CleanupCompact {
		t.Fatalf("create request: %v", req)
	}
	j := call[*messages.JoinGroupResponse](h, joinRequest("app", "", session, "range"))
	if j.ErrorCode != messages.ErrorCode_COORDINATOR_NOT_AVAILABLE {
		t.Fatalf("join without the topic: %s", j.ErrorCode)
	}
}

func TestHostRefusesGroupsLedElsewhere(t *testing.T) {
	h := newHarness(t, nil)
	id, gen := h.joinAlone("app", session)
	// Leadership of the partition moves to node 2.
	h.setView(func(v *controller.ClusterView) {
		tp := metadata.TopicPartition{Topic: messages.ConsumerOffsetsTopic, Partition: 0}
		v.Snapshot.States[tp] = metadata.PartitionState{Leader: 2, LeaderEpoch: 1}
	})
	hb := call[*messages.HeartbeatResponse](h, &messages.HeartbeatRequest{GroupId: "app", MemberId: id, GenerationId: gen})
	if hb.ErrorCode != messages.ErrorCode_NOT_COORDINATOR {
		t.Fatalf("heartbeat: %s, want NOT_COORDINATOR", hb.ErrorCode)
	}
	f := call[*messages.FindCoordinatorResponse](h, &messages.FindCoordinatorRequest{GroupId: "app"})
	if f.ErrorCode != messages.ErrorCode_COORDINATOR_NOT_AVAILABLE {
		t.Fatalf("find coordinator with a leader that is not live: %s", f.ErrorCode)
	}
	// It comes back in a new epoch: the actor reloads the group from the
	// log and the member carries on.
	h.setView(func(v *controller.ClusterView) {
		tp := metadata.TopicPartition{Topic: messages.ConsumerOffsetsTopic, Partition: 0}
		v.Snapshot.States[tp] = metadata.PartitionState{Leader: 1, LeaderEpoch: 2}
	})
	h.loaded("app")
	hb = call[*messages.HeartbeatResponse](h, &messages.HeartbeatRequest{GroupId: "app", MemberId: id, GenerationId: gen})
	if hb.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("heartbeat after the partition came back: %s", hb.ErrorCode)
	}
}

func TestHostListGroups(t *testing.T) {
	h := newHarness(t, nil)
	h.joinAlone("live", session)
	h.loaded("offsets-only")
	h.commit("offsets-only", "", -1, "logs", map[int32]int64{0: 1})
	list := func() []string {
		t.Helper()
		resp := call[*messages.ListGroupsResponse](h, &messages.ListGroupsRequest{})
		if resp.ErrorCode != messages.ErrorCode_NONE {
			t.Fatalf("list: %s %s", resp.ErrorCode, resp.ErrorMessage)
		}
		var out []string
		for _, g := range resp.Groups {
			out = append(out, g.GroupId+":"+g.GroupState+":"+g.ProtocolType)
		}
		return out
	}
	want := []string{"live:Stable:consumer", "offsets-only:Empty:"}
	if got := list(); !slices.Equal(got, want) {
		t.Fatalf("list: %v, want %v", got, want)
	}
	// After a restart no actor runs: the groups come from the log.
	h.restart()
	if got := list(); !slices.Equal(got, want) {
		t.Fatalf("list after restart: %v, want %v", got, want)
	}
	resp := call[*messages.ListGroupsResponse](h, &messages.ListGroupsRequest{StatesFilter: []string{"empty"}})
	if len(resp.Groups) != 1 || resp.Groups[0].GroupId != "offsets-only" {
		t.Fatalf("filtered list: %v", resp.Groups)
	}
}

// formGroup makes n new members join a loaded group and sync the
// leader's assignment, as consumers do, and fails unless every member
// gets its own assignment.
func formGroup(h *harness, group string, n int) {
	h.t.Helper()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = h.newMemberID(group, session)
	}
	joins := make([]func() *messages.JoinGroupResponse, n)
	for i, id := range ids {
		joins[i] = async[*messages.JoinGroupResponse](h, joinRequest(group, id, session, "range"))
	}
	var leader *messages.JoinGroupResponse
	for i := range joins {
		r := joins[i]()
		if r.ErrorCode != messages.ErrorCode_NONE {
			h.t.Fatalf("join %d: %s", i, r.ErrorCode)
		}
		if r.Leader == r.MemberId {
			leader = r
		}
	}
	if leader == nil || len(leader.Members) != n {
		h.t.Fatalf("leader missing or sees the wrong members")
	}
	var assignments []*messages.SyncGroupAssignment
	for _, m := range leader.Members {
		assignments = append(assignments, &messages.SyncGroupAssignment{MemberId: m.MemberId, Assignment: []byte(m.MemberId)})
	}
	syncs := make([]func() *messages.SyncGroupResponse, 0, n)
	for _, id := range ids {
		req := &messages.SyncGroupRequest{GroupId: group, GenerationId: leader.GenerationId, MemberId: id}
		if id == leader.MemberId {
			req.Assignments = assignments
		}
		syncs = append(syncs, async[*messages.SyncGroupResponse](h, req))
	}
	for i, wait := range syncs {
		if r := wait(); r.ErrorCode != messages.ErrorCode_NONE || string(r.Assignment) != ids[i] {
			h.t.Fatalf("sync %d: %s %q", i, r.ErrorCode, r.Assignment)
		}
	}
}

// TestHostRebalanceTenMembers records how long a ten-member group takes
// to form (join, sync, assignment persisted). It logs the time and
// asserts only the outcome.
func TestHostRebalanceTenMembers(t *testing.T) {
	h := newHarness(t, nil)
	h.loaded("big")
	start := time.Now()
	formGroup(h, "big", 10)
	t.Logf("10-member group formed (join+sync, assignment persisted) in %v", time.Since(start))
}

// BenchmarkCoordinatorRebalance10 measures a rebalance of a ten-member
// group over a real replica: every member rejoins (10 joins), the leader's
// assignment is appended to the log, and all 10 syncs are answered.
func BenchmarkCoordinatorRebalance10(b *testing.B) {
	h := newHarness(b, nil)
	h.loaded("bench")
	formGroup(h, "bench", 10)
	d := h.describe("bench")
	ids := make([]string, len(d.Members))
	for i, m := range d.Members {
		ids[i] = m.MemberId
	}
	for b.Loop() {
		joins := make([]func() *messages.JoinGroupResponse, len(ids))
		for i, id := range ids {
			joins[i] = async[*messages.JoinGroupResponse](h, joinRequest("bench", id, session, "range"))
		}
		var gen int32
		var leader string
		for _, wait := range joins {
			r := wait()
			if r.ErrorCode != messages.ErrorCode_NONE {
				b.Fatalf("rejoin: %s", r.ErrorCode)
			}
			gen, leader = r.GenerationId, r.Leader
		}
		syncs := make([]func() *messages.SyncGroupResponse, len(ids))
		for i, id := range ids {
			req := &messages.SyncGroupRequest{GroupId: "bench", GenerationId: gen, MemberId: id}
			if id == leader {
				for _, o := range ids {
					req.Assignments = append(req.Assignments, &messages.SyncGroupAssignment{MemberId: o, Assignment: []byte(o)})
				}
			}
			syncs[i] = async[*messages.SyncGroupResponse](h, req)
		}
		for _, wait := range syncs {
			if r := wait(); r.ErrorCode != messages.ErrorCode_NONE {
				b.Fatalf("sync: %s", r.ErrorCode)
			}
		}
	}
}

func TestHostRespawnsStoppedIdleActors(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	h := newHarness(t, func(c *Config) {
		c.OffsetsRetentionCheckInterval = 20 * time.Millisecond
		c.Now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			return now
		}
	})
	h.loaded("probe")
	if d := h.describe("probe"); d.GroupState != "Dead" {
		t.Fatalf("unknown group: %s", d.GroupState)
	}
	// An hour without requests: the actor of the group that does not
	// exist stops.
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	waitFor(t, requestTimeout, func() error {
		if _, alive := h.system.ProcessRegistry.GetLocal(messages.GroupActorID("probe")); alive {
			return fmt.Errorf("actor of %q still runs", "probe")
		}
		return nil
	})
	// The next request starts it again.
	h.loaded("probe")
	if c := h.commit("probe", "", -1, "logs", map[int32]int64{0: 4}); c.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("commit after respawn: %s", c.ErrorCode)
	}
}
