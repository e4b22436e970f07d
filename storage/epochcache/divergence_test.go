package epochcache

import "testing"

// followerTruncation runs the follower side of KIP-101/KIP-279 against a
// leader: ask for the end of the follower's latest epoch, and either
// truncate to min(leader end, follower end) when the follower knows the
// epoch the leader answered with, or truncate to the follower's end of that
// epoch and ask again with the follower's epoch below it. It returns the
// offset the follower's log ends at afterwards; fallback (the follower's
// high watermark) is used when the leader answers UNDEFINED.
func followerTruncation(t *testing.T, leader, follower *Cache, leaderLEO, followerLEO, fallback int64) int64 {
	t.Helper()
	epoch, _, ok := follower.Latest()
	if !ok {
		return fallback
	}
	for range 100 {
		leaderEpoch, leaderEnd := leader.EndOffsetFor(epoch, leaderLEO)
		if leaderEpoch == Undefined {
			return min(fallback, followerLEO)
		}
		followerEpoch, followerEnd := follower.EndOffsetFor(leaderEpoch, followerLEO)
		if followerEpoch == leaderEpoch || followerEpoch == Undefined {
			return min(leaderEnd, followerEnd, followerLEO)
		}
		// The follower never saw leaderEpoch: cut back to the end of its
		// own epoch below it and ask again.
		followerLEO = min(followerEnd, followerLEO)
		follower.TruncateFromEnd(followerLEO)
		epoch = followerEpoch
	}
	t.Fatal("divergence search did not converge")
	return 0
}

func TestCacheDivergence(t *testing.T) {
	cases := []struct {
		name                   string
		leader, follower       []Entry
		leaderLEO, followerLEO int64
		followerHW             int64
		want                   int64
	}{
		// KIP-101 scenario 1: a restarted follower with HW 1 but both
		// messages of epoch 0 must not truncate to its HW and lose m2.
		{
			name:   "kip101 no loss on restart",
			leader: []Entry{{0, 0}}, follower: []Entry{{0, 0}},
			leaderLEO: 2, followerLEO: 2, followerHW: 1,
			want: 2,
		},
		// KIP-101 scenario 2: A has m1,m2 in epoch 0; B has only m1,
		// becomes leader in epoch 1 and writes m3 at offset 1. A must cut
		// m2 (offset 1) and take m3 from B.
		{
			name:   "kip101 divergent logs",
			leader: []Entry{{0, 0}, {1, 1}}, follower: []Entry{{0, 0}},
			leaderLEO: 2, followerLEO: 2, followerHW: 1,
			want: 1,
		},
		// Follower is simply behind: nothing to truncate.
		{
			name:   "follower behind",
			leader: []Entry{{0, 0}, {2, 10}}, follower: []Entry{{0, 0}},
			leaderLEO: 20, followerLEO: 7, followerHW: 3,
			want: 7,
		},
		// KIP-279: the follower led epoch 1 briefly and wrote offsets 4-5
		// the leader never saw. The leader answers with epoch 0 ending at 5;
		// the follower's epoch 0 ends at 4, so it cuts to 4.
		{
			name:   "kip279 unknown follower epoch",
			leader: []Entry{{0, 0}, {2, 5}}, follower: []Entry{{0, 0}, {1, 4}},
			leaderLEO: 8, followerLEO: 6, followerHW: 2,
			want: 4,
		},
		// KIP-279, fast leader changes: the follower's epochs 1 and 3 are
		// both unknown to the leader; two rounds find the fork at 5.
		{
			name:   "kip279 two rounds",
			leader: []Entry{{0, 0}, {2, 10}, {4, 20}}, follower: []Entry{{0, 0}, {1, 5}, {3, 12}},
			leaderLEO: 30, followerLEO: 15, followerHW: 3,
			want: 5,
		},
		// The leader deleted all history of the follower's epochs: it
		// answers with the start of its earliest epoch, which the follower
		// has not reached; it keeps its log (the fetch then resets).
		{
			name:   "leader log start beyond follower epochs",
			leader: []Entry{{3, 100}, {4, 150}}, follower: []Entry{{1, 0}, {2, 50}},
			leaderLEO: 170, followerLEO: 80, followerHW: 60,
			want: 80,
		},
		// The follower claims an epoch newer than the leader's latest: the
		// leader answers UNDEFINED and the follower falls back to its HW.
		{
			name:   "follower epoch ahead of leader",
			leader: []Entry{{0, 0}}, follower: []Entry{{0, 0}, {5, 3}},
			leaderLEO: 10, followerLEO: 6, followerHW: 2,
			want: 2,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			leader := mustCache(t, tc.leader...)
			follower := mustCache(t, tc.follower...)
			got := followerTruncation(t, leader, follower, tc.leaderLEO, tc.followerLEO, tc.followerHW)
			if got != tc.want {
				t.Fatalf("follower truncates to %d, want %d", got, tc.want)
			}
		})
	}
}
