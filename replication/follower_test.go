package replication

import (
	"testing"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/epochcache"
)

// readyFollower returns follower 2 of leader 1 in epoch 3 whose log ends at
// leo with high watermark hw, done truncating.
func readyFollower(t *testing.T, leo, hw int64) *Follower {
	t.Helper()
	f, eff := NewFollower(2, 1, 3, leo, hw, 3)
	if eff.Query == nil || eff.Query.RequestedEpoch != 3 || eff.Query.LeaderEpoch != 3 {
		t.Fatalf("first effects %+v, want a query for epoch 3", eff)
	}
	eff = f.OnEpochEndOffset(&messages.OffsetsForLeaderEpochResponse{LeaderEpoch: 3, EndOffset: leo + 100},
		cacheEnds{cache: mustCache(t, epochcache.Entry{Epoch: 3, StartOffset: 0}), leo: leo})
	if !eff.Truncate || eff.TruncateTo != leo {
		t.Fatalf("effects %+v, want a no-op truncation at %d", eff, leo)
	}
	eff = f.Truncated(leo, 3)
	if eff.Announce == nil || eff.Announce.Leo != leo || eff.Announce.Seq != 0 || eff.Announce.FollowerId != 2 {
		t.Fatalf("effects %+v, want the announcement of LEO %d", eff, leo)
	}
	return f
}

func mustCache(t *testing.T, entries ...epochcache.Entry) *epochcache.Cache {
	t.Helper()
	c, err := epochcache.FromEntries(entries)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFollowerOnPush(t *testing.T) {
	push := func(epoch, leader int32, base, end int64, records bool) *messages.ReplicateRequest {
		req := &messages.ReplicateRequest{LeaderEpoch: epoch, LeaderId: leader, BaseOffset: base, EndOffset: end, LeaderHw: 7, Seq: 9}
		if records {
			req.Records = []byte{1}
		}
		return req
	}
	for _, tc := range []struct {
		name   string
		req    *messages.ReplicateRequest
		append bool
		code   messages.ErrorCode
		leo    int64
		hw     int64
	}{
		// epochs and leaders
		{name: "stale epoch", req: push(2, 1, 10, 12, true), code: messages.ErrorCode_FENCED_LEADER_EPOCH, leo: 10, hw: 5},
		{name: "newer epoch", req: push(4, 1, 10, 12, true), code: messages.ErrorCode_UNKNOWN_LEADER_EPOCH, leo: 10, hw: 5},
		{name: "other leader", req: push(3, 5, 10, 12, true), code: messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, leo: 10, hw: 5},
		// offsets
		{name: "at the log end", req: push(3, 1, 10, 12, true), append: true},
		{name: "gap", req: push(3, 1, 11, 12, true), leo: 10, hw: 5},
		{name: "duplicate", req: push(3, 1, 8, 12, true), leo: 10, hw: 5},
		// heartbeats
		{name: "heartbeat at the log end", req: push(3, 1, 10, 10, false), leo: 10, hw: 7},
		{name: "heartbeat off the log end", req: push(3, 1, 12, 12, false), leo: 10, hw: 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := readyFollower(t, 10, 5)
			d := f.OnPush(tc.req)
			if d.Append != tc.append || d.StartAt != -1 {
				t.Fatalf("decision %+v, want append %v", d, tc.append)
			}
			if tc.append {
				return
			}
			r := d.Response
			if r.ErrorCode != tc.code || r.Leo != tc.leo || r.Hw != tc.hw || r.Seq != 9 || r.LeaderEpoch != 3 || r.FollowerId != 2 {
				t.Fatalf("response %v, want %v LEO %d HW %d seq 9", r, tc.code, tc.leo, tc.hw)
			}
			if d.RefreshMetadata != (tc.code == messages.ErrorCode_UNKNOWN_LEADER_EPOCH) {
				t.Fatalf("refresh %v", d.RefreshMetadata)
			}
		})
	}
}

func TestFollowerAppendedLearnsHWCappedAtLEO(t *testing.T) {
	f := readyFollower(t, 10, 5)
	req := &messages.ReplicateRequest{LeaderEpoch: 3, LeaderId: 1, BaseOffset: 10, EndOffset: 12, Records: []byte{1}, LeaderHw: 20, Seq: 4}
	if d := f.OnPush(req); !d.Append {
		t.Fatalf("decision %+v", d)
	}
	resp, moved := f.Appended(req, 12)
	if !moved || resp.Leo != 12 || resp.Hw != 12 || resp.Seq != 4 || f.HW() != 12 {
		t.Fatalf("response %v moved %v, want LEO 12 HW 12 (capped at the LEO)", resp, moved)
	}
	// A new leader's lower HW does not move the follower's back.
	req = &messages.ReplicateRequest{LeaderEpoch: 3, LeaderId: 1, BaseOffset: 12, EndOffset: 12, LeaderHw: 8, Seq: 5}
	if d := f.OnPush(req); d.Response.Hw != 12 {
		t.Fatalf("HW %d after a heartbeat with a lower leader HW", d.Response.Hw)
	}
}

func TestFollowerRestartsLogWhenLeaderStartsPastIt(t *testing.T) {
	f := readyFollower(t, 10, 10)
	req := &messages.ReplicateRequest{LeaderEpoch: 3, LeaderId: 1, BaseOffset: 48, EndOffset: 52, Records: []byte{1}, LeaderLogStart: 50, LeaderHw: 60, Seq: 1}
	d := f.OnPush(req)
	if !d.Append || d.StartAt != 48 {
		t.Fatalf("decision %+v, want append after restarting at 48", d)
	}
	if resp, _ := f.Appended(req, 52); resp.Leo != 52 || resp.Hw != 52 {
		t.Fatalf("response %v", resp)
	}
}

func TestFollowerRefusesPushesWhileTruncating(t *testing.T) {
	f, _ := NewFollower(2, 1, 3, 10, 5, 2)
	d := f.OnPush(&messages.ReplicateRequest{LeaderEpoch: 3, LeaderId: 1, BaseOffset: 10, EndOffset: 11, Records: []byte{1}, Seq: 3})
	if d.Append || d.Response.ErrorCode != messages.ErrorCode_REPLICA_NOT_AVAILABLE {
		t.Fatalf("decision %+v, want REPLICA_NOT_AVAILABLE", d)
	}
}

// TestFollowerTruncation walks the OffsetsForLeaderEpoch rounds of
// KIP-101 and KIP-279: each case is the follower's log (epoch cache and
// LEO), the leader's answers in turn, and the truncations expected.
func TestFollowerTruncation(t *testing.T) {
	type answer struct {
		epoch int32
		end   int64
	}
	for _, tc := range []struct {
		name    string
		entries []epochcache.Entry
		leo, hw int64
		answers []answer
		asked   []int32 // epochs asked, in order
		cuts    []int64 // truncation points, in order
		final   int64
	}{
		{
			// KIP-101: the follower holds writes of epoch 1 past where
			// the leader's epoch 1 ended.
			name:    "uncommitted tail of the same epoch",
			entries: []epochcache.Entry{{Epoch: 0, StartOffset: 0}, {Epoch: 1, StartOffset: 5}},
			leo:     9, hw: 5,
			answers: []answer{{1, 7}},
			asked:   []int32{1},
			cuts:    []int64{7},
			final:   7,
		},
		{
			// The leader has more of the epoch than the follower: nothing
			// to cut.
			name:    "follower behind in the same epoch",
			entries: []epochcache.Entry{{Epoch: 0, StartOffset: 0}},
			leo:     4, hw: 2,
			answers: []answer{{0, 10}},
			asked:   []int32{0},
			cuts:    []int64{4},
			final:   4,
		},
		{
			// KIP-279: the follower led epoch 2, which the leader never
			// saw; the leader's epoch 1 is unknown to the follower.
			name:    "two unknown epochs",
			entries: []epochcache.Entry{{Epoch: 0, StartOffset: 0}, {Epoch: 2, StartOffset: 5}},
			leo:     8, hw: 5,
			answers: []answer{{1, 7}, {0, 5}},
			asked:   []int32{2, 0},
			cuts:    []int64{5, 5},
			final:   5,
		},
		{
			// The leader knows nothing of the epoch (no epoch in its
			// answer): cut at its end offset.
			name:    "leader without the epoch",
			entries: []epochcache.Entry{{Epoch: 0, StartOffset: 0}},
			leo:     8, hw: 3,
			answers: []answer{{-1, 6}},
			asked:   []int32{0},
			cuts:    []int64{6},
			final:   6,
		},
		{
			// The leader cannot answer at all: fall back to the HW.
			name:    "undefined answer",
			entries: []epochcache.Entry{{Epoch: 0, StartOffset: 0}},
			leo:     8, hw: 3,
			answers: []answer{{-1, -1}},
			asked:   []int32{0},
			cuts:    []int64{3},
			final:   3,
		},
		{
			// The leader's answer epoch is below every epoch the follower
			// has: the follower's epoch 2 starts at 4, where the leader
			// still wrote epoch 1, so the logs part there.
			name:    "answer below the follower's epochs",
			entries: []epochcache.Entry{{Epoch: 2, StartOffset: 4}},
			leo:     8, hw: 4,
			answers: []answer{{1, 6}},
			asked:   []int32{2},
			cuts:    []int64{4},
			final:   4,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := &testLog{cache: mustCache(t, tc.entries...), leo: tc.leo}
			latest, _, _ := log.cache.Latest()
			f, eff := NewFollower(2, 1, 9, tc.leo, tc.hw, latest)
			var asked []int32
			var cuts []int64
			for _, a := range tc.answers {
				if eff.Query == nil {
					t.Fatalf("effects %+v, want a query", eff)
				}
				asked = append(asked, eff.Query.RequestedEpoch)
				eff = f.OnEpochEndOffset(&messages.OffsetsForLeaderEpochResponse{LeaderEpoch: a.epoch, EndOffset: a.end}, log)
				if !eff.Truncate {
					t.Fatalf("effects %+v, want a truncation", eff)
				}
				cuts = append(cuts, eff.TruncateTo)
				log.truncate(eff.TruncateTo)
				latest, _, ok := log.cache.Latest()
				if !ok {
					latest = -1
				}
				eff = f.Truncated(log.leo, latest)
			}
			if eff.Announce == nil || f.Truncating() {
				t.Fatalf("effects %+v after the last answer, want the announcement", eff)
			}
			if eff.Announce.Leo != tc.final || f.LEO() != tc.final || f.HW() > f.LEO() {
				t.Fatalf("announced LEO %d, follower LEO %d HW %d, want %d", eff.Announce.Leo, f.LEO(), f.HW(), tc.final)
			}
			if !equalInts(asked, tc.asked) || !equalInts(cuts, tc.cuts) {
				t.Fatalf("asked %v cut %v, want %v %v", asked, cuts, tc.asked, tc.cuts)
			}
		})
	}
}

func TestFollowerWithoutEpochsTruncatesToHW(t *testing.T) {
	f, eff := NewFollower(2, 1, 0, 8, 3, -1)
	if !eff.Truncate || eff.TruncateTo != 3 || eff.Query != nil {
		t.Fatalf("effects %+v, want a truncation to the HW 3", eff)
	}
	eff = f.Truncated(3, -1)
	if eff.Announce == nil || eff.Announce.Leo != 3 {
		t.Fatalf("effects %+v", eff)
	}
}

func TestFollowerEpochQueryErrorKeepsQuery(t *testing.T) {
	f, eff := NewFollower(2, 1, 4, 8, 3, 2)
	q := *eff.Query
	eff = f.OnEpochEndOffset(&messages.OffsetsForLeaderEpochResponse{ErrorCode: messages.ErrorCode_FENCED_LEADER_EPOCH, LeaderEpoch: -1, EndOffset: -1}, nil)
	if !eff.RefreshMetadata || eff.Truncate || eff.Query != nil {
		t.Fatalf("effects %+v, want a metadata refresh only", eff)
	}
	if got, ok := f.PendingQuery(); !ok || got != q {
		t.Fatalf("pending query %+v %v, want %+v", got, ok, q)
	}
	// A late answer after the search ended is ignored.
	f.OnEpochEndOffset(&messages.OffsetsForLeaderEpochResponse{LeaderEpoch: 2, EndOffset: 8}, cacheEnds{cache: mustCache(t, epochcache.Entry{Epoch: 2, StartOffset: 0}), leo: 8})
	f.Truncated(8, 2)
	if eff := f.OnEpochEndOffset(&messages.OffsetsForLeaderEpochResponse{LeaderEpoch: 2, EndOffset: 0}, nil); eff.Truncate {
		t.Fatalf("late answer truncates: %+v", eff)
	}
	if _, ok := f.PendingQuery(); ok {
		t.Fatal("query still pending after the search ended")
	}
}

// testLog is an EpochEnds whose truncation follows a commitlog's.
type testLog struct {
	cache *epochcache.Cache
	leo   int64
}

func (l *testLog) EndOffsetForEpoch(epoch int32) (int32, int64) {
	return l.cache.EndOffsetFor(epoch, l.leo)
}

func (l *testLog) truncate(offset int64) {
	if offset < l.leo {
		l.leo = offset
		l.cache.TruncateFromEnd(offset)
	}
}

func equalInts[T int32 | int64](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFollowerRefusePush(t *testing.T) {
	for _, tc := range []struct {
		pushEpoch int32
		code      messages.ErrorCode
		refresh   bool
	}{
		{pushEpoch: 4, code: messages.ErrorCode_FENCED_LEADER_EPOCH},
		{pushEpoch: 5, code: messages.ErrorCode_NOT_LEADER_OR_FOLLOWER},
		{pushEpoch: 6, code: messages.ErrorCode_UNKNOWN_LEADER_EPOCH, refresh: true},
	} {
		resp, refresh := RefusePush(2, 5, &messages.ReplicateRequest{LeaderEpoch: tc.pushEpoch, Seq: 8})
		if resp.ErrorCode != tc.code || refresh != tc.refresh || resp.Seq != 8 || resp.LeaderEpoch != 5 || resp.FollowerId != 2 {
			t.Errorf("push epoch %d: %v refresh %v, want %v %v", tc.pushEpoch, resp, refresh, tc.code, tc.refresh)
		}
	}
	// A leader in epoch 5 receiving the fenced answer steps aside.
	l := NewLeader(Config{}, 1, 4, []int32{1, 2}, []int32{1, 2}, 0, 0)
	resp, _ := RefusePush(2, 5, &messages.ReplicateRequest{LeaderEpoch: 4, Seq: 1})
	if eff := l.OnReplicateAck(resp, t0); !eff.Fenced {
		t.Fatalf("effects %+v, want Fenced", eff)
	}
}
