package replication

import (
	"errors"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/epochcache"
)

var t0 = time.Unix(1_700_000_000, 0)

// readyLeader returns leader 1 of epoch 0 over followers that answered the
// first probe at log end offset leo.
func readyLeader(t *testing.T, cfg Config, leo int64, followers ...int32) *Leader {
	t.Helper()
	replicas := append([]int32{1}, followers...)
	l := NewLeader(cfg, 1, 0, replicas, replicas, leo, leo)
	eff := l.OnTick(t0)
	if len(eff.Sends) != len(followers) {
		t.Fatalf("first tick sends %+v, want one probe per follower", eff.Sends)
	}
	for _, p := range eff.Sends {
		if !p.Heartbeat || p.From != leo {
			t.Fatalf("probe %+v, want a heartbeat at %d", p, leo)
		}
		if _, more := l.Sent(p, p.From, p.From, 0); more {
			t.Fatal("a heartbeat returned a follow-up push")
		}
		l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: p.To, Leo: leo, Seq: p.Seq}, t0)
		if got, ok := l.FollowerLEO(p.To); !ok || got != leo {
			t.Fatalf("follower %d LEO %d %v after the probe answer", p.To, got, ok)
		}
	}
	return l
}

// sendAll carries out pushes like an actor whose log holds records of
// recordBytes each, one record per batch, and returns what went out.
func sendAll(l *Leader, pushes []Push, recordBytes int, leo int64) []Push {
	var out []Push
	for _, p := range pushes {
		for ok := true; ok; {
			out = append(out, p)
			if p.Heartbeat {
				p, ok = l.Sent(p, p.From, p.From, 0)
				continue
			}
			n := max(1, p.MaxBytes/recordBytes)
			end := min(p.From+int64(n), leo)
			p, ok = l.Sent(p, p.From, end, int(end-p.From)*recordBytes)
		}
	}
	return out
}

func TestLeaderCheckProduce(t *testing.T) {
	for _, tc := range []struct {
		isr    []int32
		minISR int
		acks   int32
		want   error
	}{
		// acks=all against min.insync.replicas
		{isr: []int32{1, 2, 3}, minISR: 2, acks: -1},
		{isr: []int32{1, 2}, minISR: 2, acks: -1},
		{isr: []int32{1}, minISR: 2, acks: -1, want: messages.ErrNotEnoughReplicas},
		{isr: []int32{1}, minISR: 0, acks: -1},
		// other acks are never refused
		{isr: []int32{1}, minISR: 3, acks: 1},
		{isr: []int32{1}, minISR: 3, acks: 0},
	} {
		l := NewLeader(Config{MinInsyncReplicas: tc.minISR}, 1, 0, []int32{1, 2, 3}, tc.isr, 0, 0)
		if err := l.CheckProduce(tc.acks); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("ISR %v min %d acks %d: %v, want %v", tc.isr, tc.minISR, tc.acks, err, tc.want)
		}
	}
}

func TestLeaderSelfAloneCommitsOnAppend(t *testing.T) {
	l := NewLeader(Config{}, 1, 0, []int32{1}, []int32{1}, 0, 0)
	eff := l.OnAppend(4, t0)
	if !eff.HWChanged || eff.HW != 5 || len(eff.Sends) != 0 {
		t.Fatalf("effects %+v, want HW 5 and no pushes", eff)
	}
	eff = l.AddPendingProduce(7, 4, -1, time.Time{})
	if len(eff.Completed) != 1 || eff.Completed[0] != (ProduceDone{ID: 7}) {
		t.Fatalf("completed %+v, want produce 7 done", eff.Completed)
	}
}

func TestLeaderUnknownFollowerHoldsHW(t *testing.T) {
	l := NewLeader(Config{}, 1, 3, []int32{1, 2}, []int32{1, 2}, 10, 10)
	eff := l.OnAppend(14, t0)
	if eff.HWChanged || l.HW() != 10 {
		t.Fatalf("HW %d with an ISR follower not heard from in this epoch, want 10", l.HW())
	}
	if len(eff.Sends) != 1 || !eff.Sends[0].Heartbeat || eff.Sends[0].From != 10 {
		t.Fatalf("sends %+v, want a probe at 10", eff.Sends)
	}
}

func TestLeaderAcksCompleteInOrderAtHW(t *testing.T) {
	l := readyLeader(t, Config{}, 0, 2)
	sends := sendAll(l, l.OnAppend(2, t0).Sends, 100, 3)
	l.AddPendingProduce(1, 2, -1, time.Time{})
	sends = append(sends, sendAll(l, l.OnAppend(5, t0).Sends, 100, 6)...)
	l.AddPendingProduce(2, 5, -1, time.Time{})
	if l.HW() != 0 || l.PendingProduces() != 2 {
		t.Fatalf("HW %d pending %d before any ack", l.HW(), l.PendingProduces())
	}
	// The follower acks the first push (offsets 0..2): produce 1 only.
	eff := l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 2, Leo: 3, Seq: sends[0].Seq}, t0)
	if eff.HW != 3 || len(eff.Completed) != 1 || eff.Completed[0].ID != 1 {
		t.Fatalf("effects %+v, want HW 3 completing produce 1", eff)
	}
	eff = l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 2, Leo: 6, Seq: sends[len(sends)-1].Seq}, t0)
	if eff.HW != 6 || len(eff.Completed) != 1 || eff.Completed[0].ID != 2 {
		t.Fatalf("effects %+v, want HW 6 completing produce 2", eff)
	}
}

func TestLeaderOutOfOrderAcksNeverMoveLEOBack(t *testing.T) {
	l := readyLeader(t, Config{MaxPushBytes: 400}, 0, 2)
	sends := sendAll(l, l.OnAppend(9, t0).Sends, 100, 10)
	if len(sends) != 3 {
		t.Fatalf("pushes %+v, want 3 of up to 4 records", sends)
	}
	if got := l.InflightBytes(2); got != 1000 {
		t.Fatalf("in-flight %d bytes, want 1000", got)
	}
	// The last ack overtakes the others.
	l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 2, Leo: 10, Seq: sends[2].Seq}, t0)
	if leo, _ := l.FollowerLEO(2); leo != 10 || l.HW() != 10 || l.InflightBytes(2) != 0 {
		t.Fatalf("LEO %d HW %d in-flight %d after the last ack, want 10, 10, 0", leo, l.HW(), l.InflightBytes(2))
	}
	for _, p := range sends[:2] {
		eff := l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 2, Leo: p.From + 4, Seq: p.Seq}, t0)
		if !eff.Empty() {
			t.Fatalf("a late ack produced effects %+v", eff)
		}
	}
	if leo, _ := l.FollowerLEO(2); leo != 10 {
		t.Fatalf("follower LEO %d after late acks, want 10", leo)
	}
}

func TestLeaderResendsFromFollowerLEOWhenPushDoesNotApply(t *testing.T) {
	l := readyLeader(t, Config{MaxPushBytes: 200}, 0, 2)
	sends := sendAll(l, l.OnAppend(5, t0).Sends, 100, 6)
	if len(sends) != 3 {
		t.Fatalf("pushes %+v, want 3", sends)
	}
	// The first push was lost: the follower answers the second with LEO 0.
	eff := l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 2, Leo: 0, Seq: sends[1].Seq}, t0)
	if len(eff.Sends) != 1 || eff.Sends[0].From != 0 || eff.Sends[0].Heartbeat {
		t.Fatalf("sends %+v, want a resend from 0", eff.Sends)
	}
	if l.InflightBytes(2) != 0 {
		t.Fatalf("in-flight %d bytes after the rewind, want 0", l.InflightBytes(2))
	}
	resent := sendAll(l, eff.Sends, 100, 6)
	// The answer to the third, abandoned push is ignored.
	if eff := l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 2, Leo: 0, Seq: sends[2].Seq}, t0); !eff.Empty() {
		t.Fatalf("an answer to an abandoned push produced %+v", eff)
	}
	eff = l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 2, Leo: 6, Seq: resent[len(resent)-1].Seq}, t0)
	if eff.HW != 6 {
		t.Fatalf("effects %+v, want HW 6", eff)
	}
}

func TestLeaderLostPushIsResentAfterRetryInterval(t *testing.T) {
	l := readyLeader(t, Config{RetryInterval: time.Second}, 0, 2)
	sendAll(l, l.OnAppend(0, t0).Sends, 100, 1)
	if eff := l.OnTick(t0.Add(500 * time.Millisecond)); len(eff.Sends) != 0 {
		t.Fatalf("tick within the retry interval sends %+v", eff.Sends)
	}
	eff := l.OnTick(t0.Add(time.Second))
	if len(eff.Sends) != 1 || eff.Sends[0].From != 0 || eff.Sends[0].Heartbeat {
		t.Fatalf("sends %+v, want the push from 0 again", eff.Sends)
	}
}

func TestLeaderFollowerNotReadyIsProbedLater(t *testing.T) {
	l := readyLeader(t, Config{RetryInterval: time.Second}, 0, 2)
	sends := sendAll(l, l.OnAppend(0, t0).Sends, 100, 1)
	eff := l.OnReplicateAck(&messages.ReplicateResponse{
		ErrorCode: messages.ErrorCode_REPLICA_NOT_AVAILABLE, FollowerId: 2, Seq: sends[0].Seq,
	}, t0)
	if !eff.Empty() {
		t.Fatalf("effects %+v", eff)
	}
	if _, ok := l.FollowerLEO(2); ok {
		t.Fatal("a follower that is truncating still counts with its old LEO")
	}
	if eff := l.OnTick(t0.Add(500 * time.Millisecond)); len(eff.Sends) != 0 {
		t.Fatalf("probe before the retry interval: %+v", eff.Sends)
	}
	// Its announcement restarts the stream at once.
	eff = l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 2, Leo: 0, Seq: 0}, t0.Add(600*time.Millisecond))
	if len(eff.Sends) != 1 || eff.Sends[0].From != 0 || eff.Sends[0].Heartbeat {
		t.Fatalf("sends %+v after the announcement, want a push from 0", eff.Sends)
	}
}

func TestLeaderFencedByFollowerInNewerEpoch(t *testing.T) {
	l := readyLeader(t, Config{}, 0, 2)
	sends := sendAll(l, l.OnAppend(0, t0).Sends, 100, 1)
	eff := l.OnReplicateAck(&messages.ReplicateResponse{
		ErrorCode: messages.ErrorCode_FENCED_LEADER_EPOCH, FollowerId: 2, LeaderEpoch: 1, Seq: sends[0].Seq,
	}, t0)
	if !eff.Fenced {
		t.Fatalf("effects %+v, want Fenced", eff)
	}
}

func TestLeaderHeartbeatCarriesNewHWToIdleFollower(t *testing.T) {
	l := readyLeader(t, Config{}, 0, 2, 3)
	sends := sendAll(l, l.OnAppend(0, t0).Sends, 100, 1)
	for _, p := range sends {
		l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: p.To, Leo: 1, Seq: p.Seq}, t0)
	}
	if l.HW() != 1 {
		t.Fatalf("HW %d, want 1", l.HW())
	}
	eff := l.OnTick(t0.Add(time.Millisecond))
	if len(eff.Sends) != 2 || !eff.Sends[0].Heartbeat || !eff.Sends[1].Heartbeat {
		t.Fatalf("sends %+v, want a heartbeat to each follower", eff.Sends)
	}
	sendAll(l, eff.Sends, 100, 1)
	for _, p := range eff.Sends {
		l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: p.To, Leo: 1, Seq: p.Seq}, t0)
	}
	if eff := l.OnTick(t0.Add(2 * time.Millisecond)); len(eff.Sends) != 0 {
		t.Fatalf("sends %+v once every follower has the HW", eff.Sends)
	}
}

// A new log start (DeleteRecords) reaches idle, caught-up followers in a
// heartbeat, once.
func TestLeaderHeartbeatCarriesNewLogStartToIdleFollower(t *testing.T) {
	l := readyLeader(t, Config{}, 0, 2)
	sends := sendAll(l, l.OnAppend(0, t0).Sends, 100, 1)
	l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 2, Leo: 1, Seq: sends[0].Seq}, t0)
	eff := l.OnTick(t0.Add(time.Millisecond))
	sendAll(l, eff.Sends, 100, 1)
	for _, p := range eff.Sends {
		l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: p.To, Leo: 1, Seq: p.Seq}, t0)
	}
	if eff := l.OnTick(t0.Add(2 * time.Millisecond)); len(eff.Sends) != 0 {
		t.Fatalf("sends %+v to an idle follower with the HW", eff.Sends)
	}
	l.SetLogStart(1)
	eff = l.OnTick(t0.Add(3 * time.Millisecond))
	if len(eff.Sends) != 1 || !eff.Sends[0].Heartbeat {
		t.Fatalf("sends %+v, want a heartbeat with the new log start", eff.Sends)
	}
	sendAll(l, eff.Sends, 100, 1)
	l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 2, Leo: 1, Seq: eff.Sends[0].Seq}, t0)
	if eff := l.OnTick(t0.Add(4 * time.Millisecond)); len(eff.Sends) != 0 {
		t.Fatalf("sends %+v once the follower was told the log start", eff.Sends)
	}
}

func TestLeaderPushesStartAtLogStart(t *testing.T) {
	l := readyLeader(t, Config{}, 0, 2)
	sends := sendAll(l, l.OnAppend(0, t0).Sends, 100, 1)
	l.OnReplicateAck(&messages.ReplicateResponse{
		ErrorCode: messages.ErrorCode_REPLICA_NOT_AVAILABLE, FollowerId: 2, Seq: sends[0].Seq,
	}, t0)
	l.OnAppend(99, t0)
	l.SetLogStart(50)
	eff := l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 2, Leo: 10}, t0)
	if len(eff.Sends) != 1 || eff.Sends[0].From != 50 {
		t.Fatalf("sends %+v, want a push from the log start 50", eff.Sends)
	}
}

func TestLeaderLagClockCountsFromSendTime(t *testing.T) {
	cfg := Config{ReplicaLagTime: 10 * time.Second, RetryInterval: time.Hour}
	l := readyLeader(t, cfg, 0, 2)
	sends := sendAll(l, l.OnAppend(0, t0).Sends, 100, 1)
	// More records arrive; the ack of the first push comes 9 s later: the
	// follower had everything the leader had at t0, not at t0+9s.
	l.OnAppend(1, t0.Add(9*time.Second))
	l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 2, Leo: 1, Seq: sends[0].Seq}, t0.Add(9*time.Second))
	if eff := l.OnTick(t0.Add(10 * time.Second)); eff.ISRChange != nil {
		t.Fatalf("shrink at 10 s: %+v", eff.ISRChange)
	}
	eff := l.OnTick(t0.Add(10*time.Second + time.Millisecond))
	if eff.ISRChange == nil || len(eff.ISRChange.ISR) != 1 || eff.ISRChange.ISR[0] != 1 {
		t.Fatalf("ISR change %+v after 10 s behind, want [1]", eff.ISRChange)
	}
}

func TestLeaderProduceCompletions(t *testing.T) {
	l := readyLeader(t, Config{}, 0, 2)
	sendAll(l, l.OnAppend(3, t0).Sends, 100, 4)
	// acks 0 and 1 complete at once.
	for _, acks := range []int32{0, 1} {
		eff := l.AddPendingProduce(uint64(10+acks), 3, acks, time.Time{})
		if len(eff.Completed) != 1 || eff.Completed[0].Err != nil {
			t.Fatalf("acks=%d: completed %+v", acks, eff.Completed)
		}
	}
	l.AddPendingProduce(1, 1, -1, t0.Add(time.Second))
	l.AddPendingProduce(2, 3, -1, time.Time{})
	eff := l.OnTick(t0.Add(time.Second))
	if len(eff.Completed) != 1 || eff.Completed[0].ID != 1 || !errors.Is(eff.Completed[0].Err, messages.ErrRequestTimedOut) {
		t.Fatalf("completed %+v, want produce 1 timed out", eff.Completed)
	}
	done := l.Resign()
	if len(done) != 1 || done[0].ID != 2 || !errors.Is(done[0].Err, messages.ErrNotLeaderOrFollower) {
		t.Fatalf("resign %+v, want produce 2 failed NOT_LEADER_OR_FOLLOWER", done)
	}
}

func TestLeaderExpansionNeedsHWAndEpochStart(t *testing.T) {
	// Leader of epoch 2 starting at offset 10, follower 2 out of the ISR.
	l := NewLeader(Config{}, 1, 2, []int32{1, 2}, []int32{1}, 10, 10)
	probe := l.OnTick(t0).Sends[0]
	l.Sent(probe, probe.From, probe.From, 0)
	eff := l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 2, Leo: 8, LeaderEpoch: 2, Seq: probe.Seq}, t0)
	if eff.ISRChange != nil {
		t.Fatalf("expansion at LEO 8 below the epoch start 10: %+v", eff.ISRChange)
	}
	sends := sendAll(l, eff.Sends, 100, 10)
	eff = l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 2, Leo: 10, LeaderEpoch: 2, Seq: sends[len(sends)-1].Seq}, t0)
	if eff.ISRChange == nil || len(eff.ISRChange.ISR) != 2 || eff.ISRChange.LeaderEpoch != 2 {
		t.Fatalf("ISR change %+v, want [1 2] in epoch 2", eff.ISRChange)
	}
	if got := l.ISR(); len(got) != 1 {
		t.Fatalf("ISR %v changed before the change was applied", got)
	}
	l.OnISRChangeApplied(eff.ISRChange.ISR)
	if got := l.ISR(); len(got) != 2 {
		t.Fatalf("ISR %v after apply", got)
	}
}

func TestLeaderAnswerEpochQuery(t *testing.T) {
	cache, err := epochcache.FromEntries([]epochcache.Entry{{Epoch: 0, StartOffset: 0}, {Epoch: 2, StartOffset: 5}, {Epoch: 4, StartOffset: 9}})
	if err != nil {
		t.Fatal(err)
	}
	log := cacheEnds{cache: cache, leo: 12}
	for _, tc := range []struct {
		current, requested int32
		code               messages.ErrorCode
		epoch              int32
		end                int64
	}{
		{current: 4, requested: 4, epoch: 4, end: 12},
		{current: 4, requested: 2, epoch: 2, end: 9},
		{current: 4, requested: 3, epoch: 2, end: 9}, // unknown: the largest below
		{current: 4, requested: 1, epoch: 0, end: 5},
		{current: 3, requested: 0, code: messages.ErrorCode_FENCED_LEADER_EPOCH, epoch: -1, end: -1},
		{current: 5, requested: 0, code: messages.ErrorCode_UNKNOWN_LEADER_EPOCH, epoch: -1, end: -1},
		{current: -1, requested: 2, epoch: 2, end: 9}, // a consumer without a current epoch is not fenced
	} {
		resp := AnswerEpochQuery(4, &messages.OffsetsForLeaderEpochRequest{LeaderEpoch: tc.current, RequestedEpoch: tc.requested}, log)
		if resp.ErrorCode != tc.code || resp.LeaderEpoch != tc.epoch || resp.EndOffset != tc.end {
			t.Errorf("current %d requested %d: %v, want %v %d %d", tc.current, tc.requested, resp, tc.code, tc.epoch, tc.end)
		}
	}
}

// cacheEnds is an EpochEnds over an epoch cache and a log end offset.
type cacheEnds struct {
	cache *epochcache.Cache
	leo   int64
}

func (c cacheEnds) EndOffsetForEpoch(epoch int32) (int32, int64) {
	return c.cache.EndOffsetFor(epoch, c.leo)
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	d := DefaultConfig()
	if d.MinInsyncReplicas != 1 || d.ReplicaLagTime != DefaultReplicaLagTime || d.MaxInflightBytes != DefaultMaxInflightBytes {
		t.Fatalf("defaults %+v", d)
	}
	for _, c := range []Config{
		{MinInsyncReplicas: -1}, {ReplicaLagTime: -1}, {RetryInterval: -1},
		{MaxPushBytes: -1}, {MaxInflightBytes: -1}, {MaxInflightPushes: -1},
	} {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", c, err)
		}
	}
}

func TestLeaderNeverCountsFollowerAheadOfIt(t *testing.T) {
	// A leader that lost the tail of its own epoch (an unflushed crash)
	// must not count a follower that still has it.
	l := NewLeader(Config{}, 1, 0, []int32{1, 2}, []int32{1, 2}, 5, 5)
	probe := l.OnTick(t0).Sends[0]
	l.Sent(probe, probe.From, probe.From, 0)
	eff := l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 2, Leo: 9, Seq: probe.Seq}, t0)
	if _, ok := l.FollowerLEO(2); ok || len(eff.Sends) != 0 {
		t.Fatalf("follower ahead of the leader counted: effects %+v", eff)
	}
	l.OnAppend(7, t0)
	if l.HW() != 5 {
		t.Fatalf("HW %d, want 5", l.HW())
	}
	l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 2, Leo: 9, Seq: 0}, t0)
	if _, ok := l.FollowerLEO(2); ok {
		t.Fatal("announcement of a log longer than the leader's counted")
	}
}
