package group

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const (
	session   = 10 * time.Second
	rebalance = 30 * time.Second
)

// harness drives a Group with a manual clock and checks that every request
// is answered exactly once.
type harness struct {
	t        *testing.T
	g        *Group
	now      time.Time
	next     RequestID
	answered map[RequestID]int
}

func newHarness(t *testing.T, mutate ...func(*Config)) *harness {
	t.Helper()
	cfg := DefaultConfig()
	cfg.InitialRebalanceDelay = 0
	n := 0
	cfg.NewMemberID = func(clientID string) string {
		n++
		return fmt.Sprintf("%s-%d", clientID, n)
	}
	for _, f := range mutate {
		f(&cfg)
	}
	g, err := New("g1", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, g: g, now: t0, answered: map[RequestID]int{}}
}

func (h *harness) advance(d time.Duration) { h.now = h.now.Add(d) }

// record notes the responses in fx, failing on a second answer.
func (h *harness) record(fx Effects) Effects {
	h.t.Helper()
	for _, r := range fx.Joins {
		h.answered[r.RequestID]++
		if h.answered[r.RequestID] > 1 {
			h.t.Fatalf("request %d answered twice", r.RequestID)
		}
	}
	for _, r := range fx.Syncs {
		h.answered[r.RequestID]++
		if h.answered[r.RequestID] > 1 {
			h.t.Fatalf("request %d answered twice", r.RequestID)
		}
	}
	return fx
}

func protocols(names ...string) []Protocol {
	var ps []Protocol
	for _, n := range names {
		ps = append(ps, Protocol{Name: n, Metadata: []byte("meta-" + n)})
	}
	return ps
}

func (h *harness) joinReq(client, memberID, instance string, ps ...string) JoinRequest {
	h.next++
	if len(ps) == 0 {
		ps = []string{"range"}
	}
	return JoinRequest{
		RequestID:        h.next,
		MemberID:         memberID,
		GroupInstanceID:  instance,
		ClientID:         client,
		ClientHost:       "/127.0.0.1",
		SessionTimeout:   session,
		RebalanceTimeout: rebalance,
		ProtocolType:     "consumer",
		Protocols:        protocols(ps...),
	}
}

func (h *harness) join(req JoinRequest) Effects {
	h.t.Helper()
	return h.record(h.g.Join(h.now, req))
}

// newMember performs the KIP-394 first join and returns the member id and
// the effects of the second join, made with that id.
func (h *harness) newMember(client string, ps ...string) (string, RequestID, Effects) {
	h.t.Helper()
	fx := h.join(h.joinReq(client, "", "", ps...))
	r := only(h.t, fx.Joins)
	if !isErr(r.Err, "MEMBER_ID_REQUIRED") || r.MemberID == "" {
		h.t.Fatalf("first join: got %+v, want MEMBER_ID_REQUIRED with an id", r)
	}
	req := h.joinReq(client, r.MemberID, "", ps...)
	return r.MemberID, req.RequestID, h.join(req)
}

func (h *harness) sync(member string, gen int32, assignments map[string][]byte) (RequestID, Effects) {
	h.t.Helper()
	h.next++
	rid := h.next
	return rid, h.record(h.g.Sync(h.now, SyncRequest{RequestID: rid, MemberID: member, Generation: gen, Assignments: assignments}))
}

func (h *harness) persistDone(fx Effects, err error) Effects {
	h.t.Helper()
	if fx.Persist == nil {
		h.t.Fatal("no persist effect")
	}
	return h.record(h.g.PersistDone(h.now, fx.Persist.Generation, err))
}

func (h *harness) tick() Effects {
	h.t.Helper()
	return h.record(h.g.Tick(h.now))
}

// stableGroup brings members up through one full rebalance; the leader
// (first) assigns "a-<member>" to each.
func (h *harness) stableGroup(clients ...string) []string {
	h.t.Helper()
	var ids []string
	for i, c := range clients {
		id, _, fx := h.newMember(c)
		ids = append(ids, id)
		if i > 0 {
			// Everyone else must rejoin before the join phase completes.
			for _, other := range ids[:i] {
				fx = h.join(h.joinReq("x", other, ""))
			}
		}
		if len(fx.Joins) != i+1 {
			h.t.Fatalf("join of %s: %d join responses, want %d", c, len(fx.Joins), i+1)
		}
		gen := fx.Joins[0].Generation
		asg := map[string][]byte{}
		for _, m := range ids {
			asg[m] = []byte("a-" + m)
		}
		for _, m := range ids[1:] {
			h.sync(m, gen, nil)
		}
		_, fx = h.sync(ids[0], gen, asg)
		fx = h.persistDone(fx, nil)
		if len(fx.Syncs) != len(ids) {
			h.t.Fatalf("%d sync responses, want %d", len(fx.Syncs), len(ids))
		}
	}
	if h.g.State() != StateStable {
		h.t.Fatalf("state %v, want Stable", h.g.State())
	}
	return ids
}

func only[T any](t *testing.T, s []T) T {
	t.Helper()
	if len(s) != 1 {
		t.Fatalf("got %d responses, want 1: %+v", len(s), s)
	}
	return s[0]
}

func joinFor(t *testing.T, fx Effects, rid RequestID) JoinResponse {
	t.Helper()
	for _, r := range fx.Joins {
		if r.RequestID == rid {
			return r
		}
	}
	t.Fatalf("no join response for request %d in %+v", rid, fx.Joins)
	return JoinResponse{}
}

func syncFor(t *testing.T, fx Effects, rid RequestID) SyncResponse {
	t.Helper()
	for _, r := range fx.Syncs {
		if r.RequestID == rid {
			return r
		}
	}
	t.Fatalf("no sync response for request %d in %+v", rid, fx.Syncs)
	return SyncResponse{}
}

func isErr(err error, code string) bool { return messages.CodeFor(err).String() == code }

func wantErr(t *testing.T, what string, err error, code string) {
	t.Helper()
	if !isErr(err, code) {
		t.Fatalf("%s: got %v, want %s", what, err, code)
	}
}
