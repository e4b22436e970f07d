package group

import (
	"testing"
	"time"
)

func TestGroupSessionTimeout(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("a", "b")
	a, b := ids[0], ids[1]
	if fx := h.tick(); !fx.Deadline.Equal(h.now.Add(session)) {
		t.Fatalf("deadline %v, want %v", fx.Deadline, h.now.Add(session))
	}
	h.advance(session / 2)
	if err := h.g.Heartbeat(h.now, HeartbeatRequest{MemberID: a, Generation: 2}); err != nil {
		t.Fatal(err)
	}
	h.advance(session / 2)
	fx := h.tick()
	if _, ok := h.g.members[b]; ok || h.g.State() != StatePreparingRebalance {
		t.Fatalf("b not expired: state %v", h.g.State())
	}
	if fx.Deadline.After(h.now.Add(rebalance)) {
		t.Fatalf("deadline %v past the rebalance timeout", fx.Deadline)
	}
	wantErr(t, "expired heartbeat", h.g.Heartbeat(h.now, HeartbeatRequest{MemberID: b, Generation: 2}), "UNKNOWN_MEMBER_ID")
	areq := h.joinReq("a", a, "")
	fx = h.join(areq)
	if r := joinFor(t, fx, areq.RequestID); r.Generation != 3 || len(r.Members) != 1 {
		t.Fatalf("rejoin %+v", r)
	}
}

func TestGroupRebalanceTimeoutRemovesMembers(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("a", "b")
	a, b := ids[0], ids[1]
	// b changes its subscription, which needs a rebalance; a never rejoins.
	breq := h.joinReq("b", b, "", "range")
	breq.Protocols[0].Metadata = []byte("new topics")
	fx := h.join(breq)
	if h.g.State() != StatePreparingRebalance || len(fx.Joins) != 0 {
		t.Fatalf("state %v joins %+v", h.g.State(), fx.Joins)
	}
	// a's session runs out before the rebalance timeout.
	if !fx.Deadline.Equal(h.now.Add(session)) {
		t.Fatalf("deadline %v, want a's session expiry", fx.Deadline)
	}
	// a keeps heartbeating, which does not count as rejoining.
	for range 5 {
		h.advance(rebalance / 6)
		wantErr(t, "heartbeat", h.g.Heartbeat(h.now, HeartbeatRequest{MemberID: a, Generation: 2}), "REBALANCE_IN_PROGRESS")
		if fx := h.tick(); len(fx.Joins) != 0 {
			t.Fatalf("join phase ended early at %v", h.now.Sub(t0))
		}
	}
	h.advance(rebalance / 6)
	fx = h.tick()
	r := joinFor(t, fx, breq.RequestID)
	if r.Generation != 3 || r.LeaderID != b || len(r.Members) != 1 || string(r.Members[0].Metadata) != "new topics" {
		t.Fatalf("b's response %+v", r)
	}
	wantErr(t, "removed member", h.g.Heartbeat(h.now, HeartbeatRequest{MemberID: a, Generation: 3}), "UNKNOWN_MEMBER_ID")
}

func TestGroupInitialRebalanceDelay(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.InitialRebalanceDelay = 3 * time.Second })
	areq := h.joinReq("a", "", "s-a") // static, so no second round trip
	fx := h.join(areq)
	if len(fx.Joins) != 0 || !fx.Deadline.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("joins %+v deadline %v", fx.Joins, fx.Deadline)
	}
	h.advance(time.Second)
	breq := h.joinReq("b", "", "s-b")
	h.join(breq)
	// b arrived during the delay: it is extended once more.
	h.advance(2 * time.Second)
	fx = h.tick()
	if len(fx.Joins) != 0 || !fx.Deadline.Equal(t0.Add(6*time.Second)) {
		t.Fatalf("joins %+v deadline %v", fx.Joins, fx.Deadline)
	}
	h.advance(3 * time.Second)
	fx = h.tick()
	if len(fx.Joins) != 2 || fx.Joins[0].Generation != 1 {
		t.Fatalf("joins %+v", fx.Joins)
	}
}

func TestGroupPendingMemberBlocksJoinUntilExpiry(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("a")
	fx := h.join(h.joinReq("b", "", "")) // b gets an id and never comes back
	pendingID := fx.Joins[0].MemberID
	areq := h.joinReq("a", ids[0], "")
	areq.Protocols[0].Metadata = []byte("changed")
	fx = h.join(areq)
	if len(fx.Joins) != 0 {
		t.Fatal("join completed while a KIP-394 member was pending")
	}
	h.advance(session)
	fx = h.tick()
	if r := joinFor(t, fx, areq.RequestID); r.Generation != 2 {
		t.Fatalf("join %+v", r)
	}
	wantErr(t, "expired pending id", joinFor(t, h.join(h.joinReq("b", pendingID, "")), h.next).Err, "UNKNOWN_MEMBER_ID")
}

func TestGroupSyncTimeoutRemovesLateMembers(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("a", "b")
	h.join(h.joinReq("a", ids[0], ""))
	fx := h.join(h.joinReq("b", ids[1], ""))
	if h.g.State() != StateCompletingRebalance || len(fx.Joins) != 2 {
		t.Fatalf("state %v", h.g.State())
	}
	// b syncs and keeps waiting; the leader never syncs but heartbeats.
	brid, _ := h.sync(ids[1], 3, nil)
	for range 3 {
		h.advance(rebalance / 3)
		if err := h.g.Heartbeat(h.now, HeartbeatRequest{MemberID: ids[0], Generation: 3}); err != nil {
			t.Fatal(err)
		}
	}
	fx = h.tick()
	wantErr(t, "b's sync", syncFor(t, fx, brid).Err, "REBALANCE_IN_PROGRESS")
	if h.g.Size() != 1 || h.g.Leader() != ids[1] || h.g.State() != StatePreparingRebalance {
		t.Fatalf("size %d leader %q state %v", h.g.Size(), h.g.Leader(), h.g.State())
	}
}
