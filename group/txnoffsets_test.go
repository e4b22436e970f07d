package group

import (
	"reflect"
	"testing"

	"github.com/sluice-mq/sluice/messages"
)

func TestReplayTransactionalOffsets(t *testing.T) {
	r := NewReplay()
	off := func(group string, p int32, o int64) ([]byte, []byte) {
		return OffsetKey{Group: group, Topic: "in", Partition: p}.Encode(), OffsetValue{Offset: o, LeaderEpoch: -1, CommitTimestamp: 1}.Encode()
	}
	apply := func(k, v []byte) {
		if err := r.Apply(k, v); err != nil {
			t.Fatal(err)
		}
	}
	txn := func(pid int64) func(k, v []byte) {
		return func(k, v []byte) {
			if err := r.ApplyTransactional(pid, k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	apply(off("g", 0, 10))
	txn(7)(off("g", 0, 20)) // producer 7's transaction
	txn(7)(off("g", 1, 5))  // and another partition
	txn(8)(off("g", 0, 99)) // producer 8's, aborted later
	txn(9)(off("h", 0, 3))  // another group, never resolved
	if got := r.Offsets["g"]; len(got) != 1 || got[Partition{"in", 0}].Offset != 10 {
		t.Fatalf("pending offsets visible before the marker: %+v", got)
	}
	r.EndTransaction(8, false)
	r.EndTransaction(7, true)
	want := map[Partition]int64{{"in", 0}: 20, {"in", 1}: 5}
	got := map[Partition]int64{}
	for tp, v := range r.Offsets["g"] {
		got[tp] = v.Offset
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after markers %v, want %v", got, want)
	}
	if r.Pending["g"] != nil || !r.Pending["h"].Has(9) || !r.Pending["h"].Pending(Partition{"in", 0}) {
		t.Fatalf("pending %+v", r.Pending)
	}
	// A marker for a producer with nothing pending changes nothing.
	r.EndTransaction(42, true)
	if len(r.Offsets["g"]) != 2 {
		t.Fatal("unrelated marker changed offsets")
	}
}

func TestGroupTxnCommitOffsets(t *testing.T) {
	h := newHarness(t)
	// No member named: accepted, even for a group without members.
	if err := h.g.TxnCommitOffsets(h.now, HeartbeatRequest{Generation: -1}); err != nil {
		t.Fatal(err)
	}
	members := h.stableGroup("a")
	gen := h.g.Generation()
	for _, c := range []struct {
		req  HeartbeatRequest
		want messages.ErrorCode
	}{
		{HeartbeatRequest{MemberID: members[0], Generation: gen}, messages.ErrorCode_NONE},
		{HeartbeatRequest{Generation: -1}, messages.ErrorCode_NONE},
		{HeartbeatRequest{MemberID: "ghost", Generation: gen}, messages.ErrorCode_UNKNOWN_MEMBER_ID},
		{HeartbeatRequest{MemberID: members[0], Generation: gen + 1}, messages.ErrorCode_ILLEGAL_GENERATION},
	} {
		if err := h.g.TxnCommitOffsets(h.now, c.req); messages.CodeFor(err) != c.want {
			t.Fatalf("%+v: %v, want %s", c.req, err, c.want)
		}
	}
	// Accepted while the leader assigns, unlike OffsetCommit.
	h.join(h.joinReq("a", members[0], ""))
	if h.g.State() != StateCompletingRebalance {
		t.Fatalf("state %s", h.g.State())
	}
	req := HeartbeatRequest{MemberID: members[0], Generation: h.g.Generation()}
	if err := h.g.CommitOffsets(h.now, req); messages.CodeFor(err) != messages.ErrorCode_REBALANCE_IN_PROGRESS {
		t.Fatalf("offset commit during the sync: %v", err)
	}
	if err := h.g.TxnCommitOffsets(h.now, req); err != nil {
		t.Fatalf("transactional commit during the sync: %v", err)
	}
}
