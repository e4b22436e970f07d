package partition

import (
	"fmt"
	"testing"

	"github.com/sluice-mq/sluice/messages"
)

// epochCall sends one client request of kind ("produce", "fetch" or
// "list-offsets") carrying epoch and returns its answer's code and text.
func epochCall(t *testing.T, h *harness, kind string, epoch int32) (messages.ErrorCode, string) {
	t.Helper()
	switch kind {
	case "produce":
		r := request[*messages.ProduceResponse](h, &messages.ProduceRequest{
			Topic: h.cfg.Topic, Acks: 1, Records: encode(t, 1, "x"), LeaderEpoch: epoch})
		return r.ErrorCode, r.ErrorMessage
	case "fetch":
		r := request[*messages.FetchResponse](h, &messages.FetchRequest{
			Topic: h.cfg.Topic, Offset: 0, MaxBytes: 1 << 20, LeaderEpoch: epoch})
		return r.ErrorCode, r.ErrorMessage
	case "list-offsets":
		r := request[*messages.ListOffsetsResponse](h, &messages.ListOffsetsRequest{
			Topic: h.cfg.Topic, Timestamp: LatestTimestamp, LeaderEpoch: epoch})
		return r.ErrorCode, r.ErrorMessage
	}
	t.Fatalf("unknown request kind %q", kind)
	return 0, ""
}

// TestReplicaEpochFencingLeader checks KIP-320 fencing at the leader of
// epoch 3: an older epoch is FENCED_LEADER_EPOCH, a newer one
// UNKNOWN_LEADER_EPOCH, both without touching the log; the current epoch
// and -1 are served.
func TestReplicaEpochFencingLeader(t *testing.T) {
	h := newHarness(t, func(_ *Config, s *State) { s.LeaderEpoch = 3 })
	h.produce(encode(t, 1, "first"), 1)
	for _, kind := range []string{"produce", "fetch", "list-offsets"} {
		for _, tt := range []struct {
			epoch int32
			want  messages.ErrorCode
		}{
			{2, messages.ErrorCode_FENCED_LEADER_EPOCH},
			{0, messages.ErrorCode_FENCED_LEADER_EPOCH},
			{4, messages.ErrorCode_UNKNOWN_LEADER_EPOCH},
			{3, messages.ErrorCode_NONE},
			{-1, messages.ErrorCode_NONE},
		} {
			t.Run(fmt.Sprintf("%s/epoch%d", kind, tt.epoch), func(t *testing.T) {
				before := h.status().LogEndOffset
				code, text := epochCall(t, h, kind, tt.epoch)
				wantCode(t, code, tt.want, text)
				grew := int64(0)
				if kind == "produce" && tt.want == messages.ErrorCode_NONE {
					grew = 1
				}
				if after := h.status().LogEndOffset; after != before+grew {
					t.Fatalf("log end %d -> %d, want +%d", before, after, grew)
				}
			})
		}
	}
	// Every served produce is in the log, stamped with the leader's epoch.
	if got := fmt.Sprint(values(t, h.fetch(0, 0, 0).Records)); got != "[0:first 1:x 2:x]" {
		t.Fatalf("log holds %s", got)
	}
}

// TestReplicaEpochFencingFollower checks the order Kafka uses at a
// replica that does not lead: the epoch first, then the role. A client
// with older metadata than the follower's is fenced, one with newer
// metadata is told the epoch is unknown yet, and only a request in the
// follower's own epoch (or none) hears NOT_LEADER_OR_FOLLOWER.
func TestReplicaEpochFencingFollower(t *testing.T) {
	h := newHarness(t, func(_ *Config, s *State) {
		s.Leader, s.LeaderEpoch = 2, 3
		s.Replicas, s.ISR = []int32{1, 2}, []int32{2}
	})
	for _, kind := range []string{"produce", "fetch", "list-offsets"} {
		for _, tt := range []struct {
			epoch int32
			want  messages.ErrorCode
		}{
			{2, messages.ErrorCode_FENCED_LEADER_EPOCH},
			{4, messages.ErrorCode_UNKNOWN_LEADER_EPOCH},
			{3, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER},
			{-1, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER},
		} {
			t.Run(fmt.Sprintf("%s/epoch%d", kind, tt.epoch), func(t *testing.T) {
				code, text := epochCall(t, h, kind, tt.epoch)
				wantCode(t, code, tt.want, text)
			})
		}
	}
	if st := h.status(); st.LogEndOffset != 0 || st.Leader {
		t.Fatalf("follower: log end %d, leader %v after refused requests", st.LogEndOffset, st.Leader)
	}
}

// TestReplicaParkedFetchFencedByNewEpoch checks that a long-poll fetch
// parked in epoch 3 is answered FENCED_LEADER_EPOCH as soon as the leader
// takes up epoch 4, while one parked without an epoch keeps waiting and
// gets the next records.
func TestReplicaParkedFetchFencedByNewEpoch(t *testing.T) {
	h := newHarness(t, func(_ *Config, s *State) { s.LeaderEpoch = 3 })
	h.produce(encode(t, 1, "a"), 1)
	park := func(epoch int32) *messages.FetchRequest {
		return &messages.FetchRequest{Topic: h.cfg.Topic, Offset: 1, MaxBytes: 1 << 20, MinBytes: 1,
			MaxWaitMs: 600_000, LeaderEpoch: epoch}
	}
	inEpoch := h.system.Root.RequestFuture(h.pid, park(3), requestTimeout)
	noEpoch := h.system.Root.RequestFuture(h.pid, park(-1), requestTimeout)
	h.system.Root.Send(h.pid, &UpdateState{State: State{Leader: 1, LeaderEpoch: 4, Replicas: []int32{1}, ISR: []int32{1}}})
	res, err := inEpoch.Result()
	if err != nil {
		t.Fatalf("fetch parked in epoch 3: %v", err)
	}
	f := res.(*messages.FetchResponse)
	wantCode(t, f.ErrorCode, messages.ErrorCode_FENCED_LEADER_EPOCH, f.ErrorMessage)
	if f.LeaderEpoch != 4 || len(f.Records) != 0 {
		t.Fatalf("fenced fetch: epoch %d, %d record bytes", f.LeaderEpoch, len(f.Records))
	}
	h.produce(encode(t, 1, "b"), 1)
	res, err = noEpoch.Result()
	if err != nil {
		t.Fatalf("fetch parked without epoch: %v", err)
	}
	f = res.(*messages.FetchResponse)
	wantCode(t, f.ErrorCode, messages.ErrorCode_NONE, f.ErrorMessage)
	if got := fmt.Sprint(values(t, f.Records)); got != "[1:b]" {
		t.Fatalf("fetch parked without epoch got %s", got)
	}
}
