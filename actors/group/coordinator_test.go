package group

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

const session = 10 * time.Second

func TestCoordinatorJoinSyncHeartbeat(t *testing.T) {
	h := newHarness(t, nil)
	id, gen := h.joinAlone("app", session)
	if gen != 1 {
		t.Fatalf("generation %d, want 1", gen)
	}
	hb := call[*messages.HeartbeatResponse](h, &messages.HeartbeatRequest{GroupId: "app", MemberId: id, GenerationId: gen})
	if hb.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("heartbeat: %s", hb.ErrorCode)
	}
	d := h.describe("app")
	if d.GroupState != "Stable" || d.ProtocolData != "range" || len(d.Members) != 1 ||
		d.Members[0].MemberId != id || string(d.Members[0].MemberAssignment) != "all" {
		t.Fatalf("describe: %+v", d)
	}
	// A stale generation and an unknown member are refused.
	hb = call[*messages.HeartbeatResponse](h, &messages.HeartbeatRequest{GroupId: "app", MemberId: id, GenerationId: gen - 1})
	if hb.ErrorCode != messages.ErrorCode_ILLEGAL_GENERATION {
		t.Fatalf("stale heartbeat: %s", hb.ErrorCode)
	}
	hb = call[*messages.HeartbeatResponse](h, &messages.HeartbeatRequest{GroupId: "app", MemberId: "ghost", GenerationId: gen})
	if hb.ErrorCode != messages.ErrorCode_UNKNOWN_MEMBER_ID {
		t.Fatalf("unknown member heartbeat: %s", hb.ErrorCode)
	}
}

func TestCoordinatorRebalanceTwoMembers(t *testing.T) {
	h := newHarness(t, nil)
	a, gen := h.joinAlone("app", session)
	b := h.newMemberID("app", session)

	// b's join starts a rebalance; it is answered when a rejoins.
	joinB := async[*messages.JoinGroupResponse](h, joinRequest("app", b, session, "range"))
	waitFor(t, requestTimeout, func() error {
		hb := call[*messages.HeartbeatResponse](h, &messages.HeartbeatRequest{GroupId: "app", MemberId: a, GenerationId: gen})
		if hb.ErrorCode != messages.ErrorCode_REBALANCE_IN_PROGRESS {
			return fmt.Errorf("heartbeat %s, want REBALANCE_IN_PROGRESS", hb.ErrorCode)
		}
		return nil
	})
	ra := call[*messages.JoinGroupResponse](h, joinRequest("app", a, session, "range"))
	rb := joinB()
	if ra.ErrorCode != messages.ErrorCode_NONE || rb.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("joins: %s, %s", ra.ErrorCode, rb.ErrorCode)
	}
	if ra.GenerationId != gen+1 || rb.GenerationId != gen+1 || ra.Leader != a || rb.Leader != a {
		t.Fatalf("generations %d/%d leaders %q/%q, want %d and %q", ra.GenerationId, rb.GenerationId, ra.Leader, rb.Leader, gen+1, a)
	}
	if len(ra.Members) != 2 || len(rb.Members) != 0 {
		t.Fatalf("leader sees %d members, follower %d; want 2 and 0", len(ra.Members), len(rb.Members))
	}

	// The follower's sync waits for the leader's assignments.
	syncB := async[*messages.SyncGroupResponse](h, &messages.SyncGroupRequest{GroupId: "app", GenerationId: rb.GenerationId, MemberId: b})
	sa := call[*messages.SyncGroupResponse](h, &messages.SyncGroupRequest{
		GroupId: "app", GenerationId: ra.GenerationId, MemberId: a,
		Assignments: []*messages.SyncGroupAssignment{{MemberId: a, Assignment: []byte("p0")}, {MemberId: b, Assignment: []byte("p1")}},
	})
	sb := syncB()
	if sa.ErrorCode != messages.ErrorCode_NONE || string(sa.Assignment) != "p0" || sb.ErrorCode != messages.ErrorCode_NONE || string(sb.Assignment) != "p1" {
		t.Fatalf("syncs: %s %q, %s %q", sa.ErrorCode, sa.Assignment, sb.ErrorCode, sb.Assignment)
	}

	// Commits from the old generation are refused; from the current one
	// they are stored.
	c := h.commit("app", a, gen, "orders", map[int32]int64{0: 5})
	if c.Topics[0].Partitions[0].ErrorCode != messages.ErrorCode_ILLEGAL_GENERATION {
		t.Fatalf("stale commit: %s", c.Topics[0].Partitions[0].ErrorCode)
	}
	c = h.commit("app", "ghost", ra.GenerationId, "orders", map[int32]int64{0: 5})
	if c.Topics[0].Partitions[0].ErrorCode != messages.ErrorCode_UNKNOWN_MEMBER_ID {
		t.Fatalf("unknown member commit: %s", c.Topics[0].Partitions[0].ErrorCode)
	}
	c = h.commit("app", b, rb.GenerationId, "orders", map[int32]int64{1: 7})
	if c.ErrorCode != messages.ErrorCode_NONE || c.Topics[0].Partitions[0].ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("commit: %s", c.Topics[0].Partitions[0].ErrorCode)
	}
	got, _ := h.committed("app")
	if want := map[string]int64{"orders/1": 7}; !maps.Equal(got, want) {
		t.Fatalf("committed %v, want %v", got, want)
	}

	// b leaves; a learns of the rebalance and is alone in generation 3.
	l := call[*messages.LeaveGroupResponse](h, &messages.LeaveGroupRequest{GroupId: "app", Members: []*messages.LeaveGroupMember{{MemberId: b}}})
	if l.ErrorCode != messages.ErrorCode_NONE || l.Members[0].ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("leave: %s", l.Members[0].ErrorCode)
	}
	ra = call[*messages.JoinGroupResponse](h, joinRequest("app", a, session, "range"))
	if ra.ErrorCode != messages.ErrorCode_NONE || ra.GenerationId != gen+2 || len(ra.Members) != 1 {
		t.Fatalf("rejoin after leave: %s generation %d members %d", ra.ErrorCode, ra.GenerationId, len(ra.Members))
	}
}

func TestCoordinatorOffsetsSurviveRestart(t *testing.T) {
	h := newHarness(t, nil)
	id, gen := h.joinAlone("app", session)
	if c := h.commit("app", id, gen, "orders", map[int32]int64{0: 10, 1: 20}); c.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("commit: %s", c.ErrorCode)
	}
	if c := h.commit("app", id, gen, "orders", map[int32]int64{0: 11}); c.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("commit: %s", c.ErrorCode)
	}
	// A group used only for offsets (no members, generation -1).
	h.loaded("tool")
	if c := h.commit("tool", "", -1, "logs", map[int32]int64{3: 99}); c.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("simple commit: %s", c.ErrorCode)
	}

	h.restart()
	h.loaded("app")
	h.loaded("tool")
	got, code := h.committed("app")
	if want := map[string]int64{"orders/0": 11, "orders/1": 20}; code != messages.ErrorCode_NONE || !maps.Equal(got, want) {
		t.Fatalf("after restart: %s %v, want %v", code, got, want)
	}
	got, _ = h.committed("tool")
	if want := map[string]int64{"logs/3": 99}; !maps.Equal(got, want) {
		t.Fatalf("after restart: %v, want %v", got, want)
	}
	// The group comes back Stable at its generation; its member carries on.
	d := h.describe("app")
	if d.GroupState != "Stable" || d.GenerationId != gen || len(d.Members) != 1 || d.Members[0].MemberId != id {
		t.Fatalf("describe after restart: %+v", d)
	}
	hb := call[*messages.HeartbeatResponse](h, &messages.HeartbeatRequest{GroupId: "app", MemberId: id, GenerationId: gen})
	if hb.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("heartbeat after restart: %s", hb.ErrorCode)
	}
	// Fetching named partitions reports -1 for those without a commit.
	resp := call[*messages.OffsetFetchResponse](h, &messages.OffsetFetchRequest{GroupId: "app",
		Topics: []*messages.OffsetFetchTopic{{Name: "orders", Partitions: []int32{1, 2}}}})
	if p := resp.Topics[0].Partitions; p[0].CommittedOffset != 20 || p[0].Metadata != "m" || p[1].CommittedOffset != -1 {
		t.Fatalf("offset fetch: %v", resp)
	}
}

func TestCoordinatorSessionTimeoutRemovesMember(t *testing.T) {
	h := newHarness(t, nil)
	const short = 100 * time.Millisecond
	id, gen := h.joinAlone("app", short)
	if c := h.commit("app", id, gen, "orders", map[int32]int64{0: 1}); c.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("commit: %s", c.ErrorCode)
	}
	// No heartbeats: the session expires and the group becomes Empty.
	waitFor(t, requestTimeout, func() error {
		if d := h.describe("app"); d.GroupState != "Empty" || len(d.Members) != 0 {
			return fmt.Errorf("state %s with %d members", d.GroupState, len(d.Members))
		}
		return nil
	})
	hb := call[*messages.HeartbeatResponse](h, &messages.HeartbeatRequest{GroupId: "app", MemberId: id, GenerationId: gen})
	if hb.ErrorCode != messages.ErrorCode_UNKNOWN_MEMBER_ID {
		t.Fatalf("heartbeat of expired member: %s", hb.ErrorCode)
	}
	// Offsets stay; the empty generation is persisted too.
	h.restart()
	h.loaded("app")
	if d := h.describe("app"); d.GroupState != "Empty" || d.GenerationId != gen+1 {
		t.Fatalf("after restart: %s generation %d, want Empty %d", d.GroupState, d.GenerationId, gen+1)
	}
	if got, _ := h.committed("app"); got["orders/0"] != 1 {
		t.Fatalf("offsets after restart: %v", got)
	}
}

func TestCoordinatorDeleteGroup(t *testing.T) {
	h := newHarness(t, nil)
	id, gen := h.joinAlone("app", session)
	h.commit("app", id, gen, "orders", map[int32]int64{0: 3})
	h.loaded("nobody")
	del := call[*messages.DeleteGroupsResponse](h, &messages.DeleteGroupsRequest{Groups: []string{"app", "nobody"}})
	if len(del.Results) != 2 || del.Results[0].ErrorCode != messages.ErrorCode_NON_EMPTY_GROUP ||
		del.Results[1].ErrorCode != messages.ErrorCode_GROUP_ID_NOT_FOUND {
		t.Fatalf("delete: %v", del.Results)
	}
	call[*messages.LeaveGroupResponse](h, &messages.LeaveGroupRequest{GroupId: "app", Members: []*messages.LeaveGroupMember{{MemberId: id}}})
	waitFor(t, requestTimeout, func() error {
		if d := h.describe("app"); d.GroupState != "Empty" {
			return fmt.Errorf("state %s", d.GroupState)
		}
		return nil
	})
	del = call[*messages.DeleteGroupsResponse](h, &messages.DeleteGroupsRequest{Groups: []string{"app"}})
	if del.Results[0].ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("delete empty group: %s %s", del.Results[0].ErrorCode, del.Results[0].ErrorMessage)
	}
	check := func(when string) {
		t.Helper()
		if got, _ := h.committed("app"); len(got) != 0 {
			t.Fatalf("%s: offsets %v", when, got)
		}
		if d := h.describe("app"); d.GroupState != "Dead" {
			t.Fatalf("%s: state %s, want Dead", when, d.GroupState)
		}
	}
	check("after delete")
	h.restart()
	h.loaded("app")
	check("after restart")
}

func TestCoordinatorOffsetRetention(t *testing.T) {
	h := newHarness(t, func(c *Config) {
		c.OffsetsRetention = 200 * time.Millisecond
		c.OffsetsRetentionCheckInterval = 50 * time.Millisecond
	})
	h.loaded("tool")
	h.commit("tool", "", -1, "logs", map[int32]int64{0: 5})
	waitFor(t, requestTimeout, func() error {
		if got, _ := h.committed("tool"); len(got) != 0 {
			return fmt.Errorf("offsets %v", got)
		}
		return nil
	})
	h.restart()
	h.loaded("tool")
	if got, _ := h.committed("tool"); len(got) != 0 {
		t.Fatalf("expired offsets came back after restart: %v", got)
	}
}

func TestCoordinatorMetadataTooLarge(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxMetadataBytes = 4 })
	h.loaded("tool")
	req := &messages.OffsetCommitRequest{GroupId: "tool", GenerationId: -1, Topics: []*messages.OffsetCommitTopic{{
		Name: "logs", Partitions: []*messages.OffsetCommitPartition{
			{Partition: 0, CommittedOffset: 1, Metadata: "tiny"},
			{Partition: 1, CommittedOffset: 1, Metadata: "much too long"},
		}}}}
	resp := call[*messages.OffsetCommitResponse](h, req)
	if p := resp.Topics[0].Partitions; p[0].ErrorCode != messages.ErrorCode_NONE || p[1].ErrorCode != messages.ErrorCode_OFFSET_METADATA_TOO_LARGE {
		t.Fatalf("codes %s %s", p[0].ErrorCode, p[1].ErrorCode)
	}
}
