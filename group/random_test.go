package group

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestGroupRandomOperations drives a group with random clients and checks
// its invariants after every step, and at the end that every request was
// answered exactly once once the clients go quiet.
func TestGroupRandomOperations(t *testing.T) {
	for seed := range uint64(200) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { randomRun(t, seed) })
	}
}

type randomClient struct {
	name, memberID, instance string
	generation               int32
	protocols                []string
}

func randomRun(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	h := newHarness(t, func(c *Config) {
		if rng.IntN(2) == 0 {
			c.InitialRebalanceDelay = 3 * time.Second
		}
		c.MaxSize = rng.IntN(6)
	})
	protocolSets := [][]string{{"range"}, {"range", "roundrobin"}, {"roundrobin", "range"}, {"sticky"}}
	clients := make([]*randomClient, 5)
	for i := range clients {
		clients[i] = &randomClient{name: fmt.Sprintf("c%d", i), protocols: protocolSets[rng.IntN(len(protocolSets))]}
		if rng.IntN(3) == 0 {
			clients[i].instance = fmt.Sprintf("i%d", i)
		}
	}
	var lastPersist *Persist
	var issued []RequestID
	apply := func(fx Effects) {
		h.record(fx)
		for _, r := range fx.Joins {
			for _, c := range clients {
				// Route by member id; a fresh id goes to the client that asked.
				if c.memberID == r.MemberID || (r.Err == nil && c.memberID == "" && c.name == clientOf(r.MemberID)) {
					if r.MemberID != "" {
						c.memberID = r.MemberID
					}
					if r.Err == nil {
						c.generation = r.Generation
					}
				}
			}
		}
		if fx.Persist != nil {
			lastPersist = fx.Persist
		}
	}
	for step := range 300 {
		c := clients[rng.IntN(len(clients))]
		switch op := rng.IntN(10); op {
		case 0, 1, 2:
			req := h.joinReq(c.name, c.memberID, c.instance, c.protocols...)
			issued = append(issued, req.RequestID)
			fx := h.g.Join(h.now, req)
			for _, r := range fx.Joins {
				if r.RequestID == req.RequestID && r.MemberID != "" && !isErr(r.Err, "UNKNOWN_MEMBER_ID") && !isErr(r.Err, "FENCED_INSTANCE_ID") {
					c.memberID = r.MemberID
				}
			}
			apply(fx)
		case 3, 4:
			asg := map[string][]byte{}
			for _, o := range clients {
				asg[o.memberID] = []byte(o.name)
			}
			h.next++
			issued = append(issued, h.next)
			apply(h.g.Sync(h.now, SyncRequest{RequestID: h.next, MemberID: c.memberID, GroupInstanceID: c.instance, Generation: c.generation, Assignments: asg}))
		case 5:
			_ = h.g.Heartbeat(h.now, HeartbeatRequest{MemberID: c.memberID, GroupInstanceID: c.instance, Generation: c.generation})
		case 6:
			_ = h.g.CommitOffsets(h.now, HeartbeatRequest{MemberID: c.memberID, GroupInstanceID: c.instance, Generation: c.generation})
		case 7:
			_, fx := h.g.Leave(h.now, []LeaveMember{{MemberID: c.memberID, GroupInstanceID: c.instance}})
			apply(fx)
			c.memberID = ""
		case 8:
			if lastPersist != nil {
				var err error
				if rng.IntN(5) == 0 {
					err = fmt.Errorf("write failed")
				}
				p := lastPersist
				lastPersist = nil
				apply(h.g.PersistDone(h.now, p.Generation, err))
			}
		case 9:
			h.advance(time.Duration(rng.IntN(8000)) * time.Millisecond)
			apply(h.g.Tick(h.now))
		}
		checkInvariants(t, h.g, step)
	}
	// The clients go quiet: within a few session and rebalance timeouts
	// every member is gone and every request has been answered.
	for range 50 {
		if lastPersist != nil {
			p := lastPersist
			lastPersist = nil
			apply(h.g.PersistDone(h.now, p.Generation, nil))
		}
		h.advance(5 * time.Second)
		apply(h.g.Tick(h.now))
		checkInvariants(t, h.g, -1)
	}
	if h.g.Size() != 0 || h.g.State() != StateEmpty {
		t.Fatalf("after going quiet: size %d state %v", h.g.Size(), h.g.State())
	}
	if !h.g.Deadline().IsZero() {
		t.Fatalf("deadline %v with nothing to do", h.g.Deadline())
	}
	for _, rid := range issued {
		if h.answered[rid] != 1 {
			t.Fatalf("request %d answered %d times", rid, h.answered[rid])
		}
	}
}

// clientOf recovers the client name from a test member id ("c3-17").
func clientOf(memberID string) string {
	for i := range len(memberID) {
		if memberID[i] == '-' {
			return memberID[:i]
		}
	}
	return memberID
}

func checkInvariants(t *testing.T, g *Group, step int) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("step %d: %s (state %v, gen %d, members %v)", step, fmt.Sprintf(format, args...), g.state, g.generation, g.order)
	}
	if len(g.order) != len(g.members) {
		fail("order %v vs %d members", g.order, len(g.members))
	}
	for _, id := range g.order {
		if g.members[id] == nil {
			fail("order has unknown %q", id)
		}
	}
	if (g.leader == "") != (len(g.members) == 0) {
		fail("leader %q with %d members", g.leader, len(g.members))
	}
	if g.leader != "" && g.members[g.leader] == nil {
		fail("leader %q not a member", g.leader)
	}
	for inst, id := range g.instances {
		if m := g.members[id]; m == nil || m.instanceID != inst {
			fail("instance %q maps to %q", inst, id)
		}
	}
	switch g.state {
	case StateEmpty:
		if len(g.members) > 0 {
			fail("empty group with members")
		}
	case StateCompletingRebalance, StateStable:
		if len(g.members) == 0 || g.protocol == "" {
			fail("generation without members or protocol %q", g.protocol)
		}
		for _, m := range g.members {
			if m.join != nil {
				fail("member %q awaits a join outside the join phase", m.id)
			}
			if !m.hasProtocol(g.protocol) {
				fail("member %q lacks protocol %q", m.id, g.protocol)
			}
		}
	}
	if g.storing && g.state != StateCompletingRebalance {
		fail("storing outside CompletingRebalance")
	}
	for _, m := range g.members {
		if m.sync != nil && g.state != StateCompletingRebalance {
			fail("member %q awaits a sync in %v", m.id, g.state)
		}
	}
	if g.cfg.MaxSize > 0 && len(g.members) > g.cfg.MaxSize {
		fail("%d members above max %d", len(g.members), g.cfg.MaxSize)
	}
}
