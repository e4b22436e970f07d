package group

import (
	"bytes"
	"errors"
	"testing"
)

func TestGroupFirstMemberLifecycle(t *testing.T) {
	h := newHarness(t)
	// KIP-394: the first join only hands out a member id.
	fx := h.join(h.joinReq("c", "", ""))
	r := only(t, fx.Joins)
	wantErr(t, "first join", r.Err, "MEMBER_ID_REQUIRED")
	if r.MemberID != "c-1" || h.g.State() != StateEmpty || h.g.Size() != 0 {
		t.Fatalf("after first join: member %q state %v size %d", r.MemberID, h.g.State(), h.g.Size())
	}
	if !fx.Deadline.Equal(t0.Add(session)) {
		t.Fatalf("deadline %v, want the pending member's expiry %v", fx.Deadline, t0.Add(session))
	}

	// The second join completes the join phase at once: it is the only member.
	req := h.joinReq("c", "c-1", "")
	fx = h.join(req)
	r = joinFor(t, fx, req.RequestID)
	if r.Err != nil || r.Generation != 1 || r.LeaderID != "c-1" || r.ProtocolName != "range" || r.ProtocolType != "consumer" {
		t.Fatalf("join response %+v", r)
	}
	if len(r.Members) != 1 || r.Members[0].MemberID != "c-1" || string(r.Members[0].Metadata) != "meta-range" {
		t.Fatalf("leader members %+v", r.Members)
	}
	if h.g.State() != StateCompletingRebalance {
		t.Fatalf("state %v", h.g.State())
	}

	// The leader's sync is persisted before anyone gets an assignment.
	srid, fx := h.sync("c-1", 1, map[string][]byte{"c-1": []byte("mine")})
	if len(fx.Syncs) != 0 || fx.Persist == nil || fx.Persist.Generation != 1 {
		t.Fatalf("leader sync effects %+v", fx)
	}
	md := fx.Persist.Metadata
	if md.Generation != 1 || md.Leader != "c-1" || md.Protocol != "range" || len(md.Members) != 1 ||
		string(md.Members[0].Assignment) != "mine" || string(md.Members[0].Subscription) != "meta-range" {
		t.Fatalf("persisted %+v", md)
	}
	fx = h.persistDone(fx, nil)
	s := syncFor(t, fx, srid)
	if s.Err != nil || string(s.Assignment) != "mine" || s.ProtocolName != "range" {
		t.Fatalf("sync response %+v", s)
	}
	if h.g.State() != StateStable {
		t.Fatalf("state %v", h.g.State())
	}
	if err := h.g.Heartbeat(h.now, HeartbeatRequest{MemberID: "c-1", Generation: 1}); err != nil {
		t.Fatal(err)
	}

	// A sync in Stable returns the assignment at once.
	srid, fx = h.sync("c-1", 1, nil)
	if s := syncFor(t, fx, srid); string(s.Assignment) != "mine" {
		t.Fatalf("stable sync %+v", s)
	}

	// Leaving empties the group: a new generation with no members is persisted.
	errs, fx := h.g.Leave(h.now, []LeaveMember{{MemberID: "c-1"}})
	if errs[0] != nil || h.g.State() != StateEmpty || h.g.Generation() != 2 || h.g.Leader() != "" {
		t.Fatalf("after leave: %v state %v gen %d", errs, h.g.State(), h.g.Generation())
	}
	if fx.Persist == nil || len(fx.Persist.Metadata.Members) != 0 || fx.Persist.Metadata.Generation != 2 {
		t.Fatalf("leave persist %+v", fx.Persist)
	}
}

func TestGroupSecondMemberRebalance(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("a")
	a := ids[0]

	b, brid, fx := h.newMember("b", "range")
	if len(fx.Joins) != 0 || h.g.State() != StatePreparingRebalance {
		t.Fatalf("b's join: %+v state %v", fx.Joins, h.g.State())
	}
	wantErr(t, "a's heartbeat", h.g.Heartbeat(h.now, HeartbeatRequest{MemberID: a, Generation: 1}), "REBALANCE_IN_PROGRESS")
	// Commits are still accepted from the current generation while preparing.
	if err := h.g.CommitOffsets(h.now, HeartbeatRequest{MemberID: a, Generation: 1}); err != nil {
		t.Fatalf("commit while preparing: %v", err)
	}

	areq := h.joinReq("a", a, "")
	fx = h.join(areq)
	ra, rb := joinFor(t, fx, areq.RequestID), joinFor(t, fx, brid)
	if ra.Generation != 2 || rb.Generation != 2 || ra.LeaderID != a || rb.LeaderID != a {
		t.Fatalf("join responses %+v %+v", ra, rb)
	}
	if len(ra.Members) != 2 || ra.Members[0].MemberID != a || ra.Members[1].MemberID != b || len(rb.Members) != 0 {
		t.Fatalf("members: leader %+v follower %+v", ra.Members, rb.Members)
	}
	wantErr(t, "commit while completing", h.g.CommitOffsets(h.now, HeartbeatRequest{MemberID: a, Generation: 2}), "REBALANCE_IN_PROGRESS")
	if err := h.g.Heartbeat(h.now, HeartbeatRequest{MemberID: b, Generation: 2}); err != nil {
		t.Fatalf("heartbeat while completing: %v", err)
	}

	// The follower's sync waits for the leader's.
	bs, fx := h.sync(b, 2, nil)
	if len(fx.Syncs) != 0 || fx.Persist != nil {
		t.Fatalf("follower sync effects %+v", fx)
	}
	as, fx := h.sync(a, 2, map[string][]byte{a: []byte("A"), b: []byte("B")})
	if len(fx.Syncs) != 0 {
		t.Fatal("sync responses before the assignment was persisted")
	}
	fx = h.persistDone(fx, nil)
	if s := syncFor(t, fx, as); string(s.Assignment) != "A" {
		t.Fatalf("leader assignment %+v", s)
	}
	if s := syncFor(t, fx, bs); string(s.Assignment) != "B" {
		t.Fatalf("follower assignment %+v", s)
	}
	d := h.g.Describe()
	if d.State != StateStable || d.Protocol != "range" || len(d.Members) != 2 ||
		d.Members[1].ClientID != "b" || string(d.Members[1].Assignment) != "B" || string(d.Members[1].Metadata) != "meta-range" {
		t.Fatalf("describe %+v", d)
	}
}

func TestGroupLeave(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("a", "b", "c")
	a, b, c := ids[0], ids[1], ids[2]
	// The leader leaves: leadership passes to the next member in join order.
	errs, _ := h.g.Leave(h.now, []LeaveMember{{MemberID: a}, {MemberID: "ghost"}})
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	wantErr(t, "unknown leave", errs[1], "UNKNOWN_MEMBER_ID")
	if h.g.Leader() != b || h.g.State() != StatePreparingRebalance {
		t.Fatalf("leader %q state %v", h.g.Leader(), h.g.State())
	}
	breq := h.joinReq("b", b, "")
	h.join(breq)
	// A member leaving while others wait completes the join phase.
	errs, fx := h.g.Leave(h.now, []LeaveMember{{MemberID: c}})
	h.record(fx)
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	if r := joinFor(t, fx, breq.RequestID); r.Generation != 4 || len(r.Members) != 1 {
		t.Fatalf("join after leave %+v", r)
	}
}

func TestGroupLeaveDuringJoinAnswersPendingJoin(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("a", "b")
	areq := h.joinReq("a", ids[0], "")
	h.join(areq)
	errs, fx := h.g.Leave(h.now, []LeaveMember{{MemberID: ids[0]}})
	h.record(fx)
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	wantErr(t, "left member's join", joinFor(t, fx, areq.RequestID).Err, "UNKNOWN_MEMBER_ID")
}

func TestGroupStaticMemberRestart(t *testing.T) {
	h := newHarness(t)
	// Static members join without the MEMBER_ID_REQUIRED round trip.
	req := h.joinReq("s", "", "inst-1")
	fx := h.join(req)
	r := joinFor(t, fx, req.RequestID)
	if r.Err != nil || r.Generation != 1 {
		t.Fatalf("static join %+v", r)
	}
	old := r.MemberID
	_, fx = h.sync(old, 1, map[string][]byte{old: []byte("S")})
	h.persistDone(fx, nil)
	id2, _, fx := h.newMember("d")
	h.join(h.joinReq("s", old, "inst-1"))
	if h.g.State() != StateCompletingRebalance {
		t.Fatalf("state %v", h.g.State())
	}
	_, fx = h.sync(old, 2, map[string][]byte{old: []byte("S"), id2: []byte("D")})
	h.persistDone(fx, nil)

	// The instance restarts and joins without its member id: it takes over
	// the identity without a rebalance, and the old id is fenced.
	req = h.joinReq("s", "", "inst-1")
	fx = h.join(req)
	r = joinFor(t, fx, req.RequestID)
	if r.Err != nil || r.Generation != 2 || r.MemberID == old || r.LeaderID != r.MemberID {
		t.Fatalf("restart join %+v", r)
	}
	if h.g.State() != StateStable || fx.Persist == nil || fx.Persist.Metadata.Members[0].MemberID != r.MemberID {
		t.Fatalf("state %v persist %+v", h.g.State(), fx.Persist)
	}
	wantErr(t, "old id", h.g.Heartbeat(h.now, HeartbeatRequest{MemberID: old, GroupInstanceID: "inst-1", Generation: 2}), "FENCED_INSTANCE_ID")
	if err := h.g.Heartbeat(h.now, HeartbeatRequest{MemberID: r.MemberID, GroupInstanceID: "inst-1", Generation: 2}); err != nil {
		t.Fatal(err)
	}
	rid, fx := h.sync(r.MemberID, 2, nil)
	if s := syncFor(t, fx, rid); string(s.Assignment) != "S" {
		t.Fatalf("assignment kept across restart: %+v", s)
	}
	// Leaving by instance id alone; with a mismatched member id it is fenced.
	errs, _ := h.g.Leave(h.now, []LeaveMember{{MemberID: old, GroupInstanceID: "inst-1"}, {GroupInstanceID: "nope"}})
	wantErr(t, "fenced leave", errs[0], "FENCED_INSTANCE_ID")
	wantErr(t, "unknown instance", errs[1], "UNKNOWN_MEMBER_ID")
	errs, _ = h.g.Leave(h.now, []LeaveMember{{GroupInstanceID: "inst-1"}})
	if errs[0] != nil || h.g.Size() != 1 || h.g.Leader() != id2 {
		t.Fatalf("leave by instance: %v size %d leader %q", errs, h.g.Size(), h.g.Leader())
	}
}

func TestGroupPersistFailure(t *testing.T) {
	h := newHarness(t)
	id, _, _ := h.newMember("a")
	rid, fx := h.sync(id, 1, map[string][]byte{id: []byte("x")})
	boom := errors.New("disk on fire")
	fx = h.persistDone(fx, boom)
	wantErr(t, "sync after failed persist", syncFor(t, fx, rid).Err, "COORDINATOR_NOT_AVAILABLE")
	if h.g.State() != StatePreparingRebalance {
		t.Fatalf("state %v", h.g.State())
	}
	// A late outcome for an old write is ignored.
	if fx := h.g.PersistDone(h.now, 1, nil); len(fx.Syncs) != 0 || h.g.State() != StatePreparingRebalance {
		t.Fatal("stale PersistDone had effects")
	}
}

func TestGroupRejoinInCompletingReturnsSameGeneration(t *testing.T) {
	h := newHarness(t)
	id, _, _ := h.newMember("a")
	req := h.joinReq("a", id, "")
	fx := h.join(req)
	r := joinFor(t, fx, req.RequestID)
	if r.Generation != 1 || len(r.Members) != 1 || h.g.State() != StateCompletingRebalance {
		t.Fatalf("resent join %+v state %v", r, h.g.State())
	}
}

func TestGroupLoadSnapshot(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("a", "b")
	md, err := DecodeMetadata(h.g.Snapshot().Encode())
	if err != nil {
		t.Fatal(err)
	}
	g2, err := New("g1", h.g.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := g2.Load(h.now, md); err != nil {
		t.Fatal(err)
	}
	if err := g2.Load(h.now, md); !errors.Is(err, ErrNotFresh) {
		t.Fatalf("second load: %v", err)
	}
	d1, d2 := h.g.Describe(), g2.Describe()
	if d2.State != StateStable || d2.Generation != 2 || d2.Leader != ids[0] || len(d2.Members) != 2 {
		t.Fatalf("loaded %+v", d2)
	}
	for i := range d1.Members {
		m1, m2 := d1.Members[i], d2.Members[i]
		if m1.MemberID != m2.MemberID || m1.ClientID != m2.ClientID || !bytes.Equal(m1.Assignment, m2.Assignment) || !bytes.Equal(m1.Metadata, m2.Metadata) {
			t.Fatalf("member %d: %+v vs %+v", i, m1, m2)
		}
	}
	if err := g2.Heartbeat(h.now, HeartbeatRequest{MemberID: ids[1], Generation: 2}); err != nil {
		t.Fatal(err)
	}
	if !g2.Deadline().Equal(h.now.Add(session)) {
		t.Fatalf("deadline %v", g2.Deadline())
	}
	// A loaded member rejoining with its protocol keeps the group going.
	fx := g2.Join(h.now, JoinRequest{RequestID: 1, MemberID: ids[1], ClientID: "b", SessionTimeout: session, ProtocolType: "consumer", Protocols: protocols("range", "roundrobin")})
	if len(fx.Joins) != 0 || g2.State() != StatePreparingRebalance {
		t.Fatalf("rejoin after load: %+v %v", fx.Joins, g2.State())
	}
}

func TestGroupDeleteAndUnload(t *testing.T) {
	h := newHarness(t)
	ids := h.stableGroup("a")
	_, err := h.g.Delete(h.now)
	wantErr(t, "delete non-empty", err, "NON_EMPTY_GROUP")
	areq := h.joinReq("a", ids[0], "")
	h.join(areq) // completes at once: sole member
	srid, _ := h.sync(ids[0], 2, nil)
	fx := h.record(h.g.Unload(h.now))
	wantErr(t, "sync after unload", syncFor(t, fx, srid).Err, "NOT_COORDINATOR")
	if h.g.State() != StateDead {
		t.Fatalf("state %v", h.g.State())
	}

	h = newHarness(t)
	fx, err = h.g.Delete(h.now)
	if err != nil || fx.Persist == nil || fx.Persist.Metadata != nil || h.g.State() != StateDead {
		t.Fatalf("delete empty: %v %+v %v", err, fx.Persist, h.g.State())
	}
	_, err = h.g.Delete(h.now)
	wantErr(t, "delete dead", err, "GROUP_ID_NOT_FOUND")
	fx = h.join(h.joinReq("a", "", ""))
	wantErr(t, "join dead", fx.Joins[0].Err, "COORDINATOR_NOT_AVAILABLE")
}

func TestGroupLoadRejectsInvalidRecords(t *testing.T) {
	tests := []struct {
		name string
		md   *Metadata
	}{
		{"members without protocol", &Metadata{ProtocolType: "consumer", Generation: 1, Members: []MemberMetadata{{MemberID: "m"}}}},
		{"empty member id", &Metadata{ProtocolType: "consumer", Protocol: "range", Members: []MemberMetadata{{}}}},
		{"repeated member id", &Metadata{ProtocolType: "consumer", Protocol: "range", Members: []MemberMetadata{{MemberID: "m"}, {MemberID: "m"}}}},
		{"repeated instance id", &Metadata{ProtocolType: "consumer", Protocol: "range", Members: []MemberMetadata{{MemberID: "a", InstanceID: "i"}, {MemberID: "b", InstanceID: "i"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := New("g", DefaultConfig())
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Load(t0, tt.md); !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("got %v, want ErrInvalidRecord", err)
			}
			if g.Generation() != 0 || g.Size() != 0 || g.State() != StateEmpty {
				t.Fatalf("failed load changed the group: gen %d size %d state %v", g.Generation(), g.Size(), g.State())
			}
		})
	}
	// A tombstone and an empty group load fine.
	g, _ := New("g", DefaultConfig())
	if err := g.Load(t0, nil); err != nil || g.State() != StateEmpty {
		t.Fatalf("tombstone: %v", err)
	}
	if err := g.Load(t0, &Metadata{ProtocolType: "consumer", Generation: 4}); err != nil || g.Generation() != 4 || g.State() != StateEmpty {
		t.Fatalf("empty group: %v gen %d", err, g.Generation())
	}
}

func TestGroupJoinMemberIDOptional(t *testing.T) {
	h := newHarness(t)
	req := h.joinReq("old-client", "", "")
	req.MemberIDOptional = true
	fx := h.join(req)
	r := joinFor(t, fx, req.RequestID)
	if r.Err != nil || r.MemberID == "" || r.Generation != 1 || h.g.Size() != 1 {
		t.Fatalf("legacy join %+v size %d", r, h.g.Size())
	}
}

// A restarted static member's metadata differs (a consumer's owned
// partitions and generation start empty); as in Kafka only a change of
// the group's protocol choice makes its return a rebalance.
func TestGroupStaticMemberRestartWithNewMetadata(t *testing.T) {
	h := newHarness(t)
	a := h.joinReq("a", "", "inst-a", "range", "roundrobin")
	ra := joinFor(t, h.join(a), a.RequestID)
	if ra.Err != nil || ra.Generation != 1 {
		t.Fatalf("join: %v", ra.Err)
	}
	_, fx := h.sync(ra.MemberID, ra.Generation, map[string][]byte{ra.MemberID: []byte("A")})
	h.persistDone(fx, nil)
	gen := h.g.Generation()

	// Same protocols, new metadata: the member comes back at once.
	req := h.joinReq("a", "", "inst-a", "range", "roundrobin")
	req.Protocols[0].Metadata = []byte("owned nothing yet")
	r := joinFor(t, h.join(req), req.RequestID)
	if r.Err != nil || r.Generation != gen || h.g.State() != StateStable {
		t.Fatalf("restart with new metadata: %+v, state %v", r, h.g.State())
	}
	rid, fx := h.sync(r.MemberID, gen, nil)
	if s := syncFor(t, fx, rid); string(s.Assignment) != "A" {
		t.Fatalf("assignment after restart: %q", s.Assignment)
	}

	// A protocol list that changes the group's choice rebalances.
	req = h.joinReq("a", "", "inst-a", "roundrobin")
	h.join(req)
	if h.g.State() == StateStable {
		t.Fatalf("restart with another protocol choice did not rebalance")
	}
}
