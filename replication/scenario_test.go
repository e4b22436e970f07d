package replication

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// Scripted scenarios on the simulated partition (sim_test.go), in the style
// of etcd raft's paper tests: every step is deterministic.

const tick = 100 * time.Millisecond

func startedCluster(t *testing.T, cfg Config, replicas ...int32) *simCluster {
	t.Helper()
	c := newSimCluster(t, cfg, replicas...)
	c.checkEvery = true
	c.settle()
	for _, id := range replicas[1:] {
		if c.nodes[id].follower.Truncating() {
			t.Fatalf("follower %d still truncating after start", id)
		}
	}
	return c
}

func TestReplicationHWAdvancesOnlyWhenEveryISRMemberHasIt(t *testing.T) {
	c := startedCluster(t, Config{}, 1, 2, 3)
	c.cut[[2]int32{1, 3}] = true // pushes to 3 are lost
	id := c.mustProduce(5, 100, -1)
	c.settle()
	l := c.nodes[1].leader
	if l.HW() != 0 {
		t.Fatalf("HW %d with follower 3 missing every record, want 0", l.HW())
	}
	if leo, _ := l.FollowerLEO(2); leo != 5 {
		t.Fatalf("follower 2 LEO %d, want 5", leo)
	}
	if _, done := c.acked[id]; done {
		t.Fatal("acks=all produce completed before follower 3 had it")
	}
	delete(c.cut, [2]int32{1, 3})
	c.run(int(DefaultRetryInterval/tick)+1, tick) // the lost push times out and is resent
	if l.HW() != 5 {
		t.Fatalf("HW %d after follower 3 caught up, want 5", l.HW())
	}
	if last, done := c.acked[id]; !done || last != 4 {
		t.Fatalf("produce acked=%v last=%d, want acked through 4", done, last)
	}
	if !slices.Equal(c.nodes[3].log.recs, c.nodes[1].log.recs) {
		t.Fatalf("follower 3 log %v, leader %v", c.epochsOf(3), c.epochsOf(1))
	}
}

func TestReplicationAcksAllCompletesExactlyWhenHWPassesIt(t *testing.T) {
	c := startedCluster(t, Config{}, 1, 2, 3)
	c.cut[[2]int32{3, 1}] = true // acks from 3 are lost
	first := c.mustProduce(3, 100, -1)
	second := c.mustProduce(2, 100, -1)
	c.settle()
	l := c.nodes[1].leader
	if len(c.acked) != 0 || l.HW() != 0 || l.PendingProduces() != 2 {
		t.Fatalf("acked %v HW %d pending %d before follower 3 acked, want none, 0, 2", c.acked, l.HW(), l.PendingProduces())
	}
	// Follower 3 answers a push for offsets 0..2 only: the first produce
	// completes, the second does not.
	delete(c.cut, [2]int32{3, 1})
	c.nodes[1].leader.OnReplicateAck(&messages.ReplicateResponse{}, c.now) // unknown follower 0: ignored
	eff := l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: 3, Leo: 3, LeaderEpoch: 0, Seq: c.lastSeqTo(t, l, 3, 0)}, c.now)
	c.leaderDo(c.nodes[1], eff)
	if !eff.HWChanged || eff.HW != 3 {
		t.Fatalf("effects %+v, want HW 3", eff)
	}
	if _, ok := c.acked[first]; !ok {
		t.Fatal("first produce (offsets 0-2) not completed at HW 3")
	}
	if _, ok := c.acked[second]; ok {
		t.Fatal("second produce (offsets 3-4) completed at HW 3")
	}
	c.run(int(DefaultRetryInterval/tick)+1, tick)
	if _, ok := c.acked[second]; !ok || l.HW() != 5 {
		t.Fatalf("second produce acked=%v HW %d, want acked at HW 5", ok, l.HW())
	}
}

// lastSeqTo returns the sequence number of the in-flight push to follower
// id that ends at end.
func (c *simCluster) lastSeqTo(t *testing.T, l *Leader, id int32, index int) uint64 {
	t.Helper()
	p := l.lookup[id]
	if len(p.inflight) <= index {
		t.Fatalf("follower %d has %d pushes in flight", id, len(p.inflight))
	}
	return p.inflight[index].seq
}

func TestReplicationISRShrinksAfterLagTimeAndMinISRRefusesProduce(t *testing.T) {
	cfg := Config{MinInsyncReplicas: 2, ReplicaLagTime: 10 * time.Second}
	c := startedCluster(t, cfg, 1, 2, 3)
	l := c.nodes[1].leader
	c.crash(3)
	id := c.mustProduce(1, 100, -1)
	c.run(50, tick) // 5 s: within the lag time
	if got := l.ISR(); !slices.Equal(got, []int32{1, 2, 3}) {
		t.Fatalf("ISR %v after 5 s of lag, want [1 2 3]", got)
	}
	if _, ok := c.acked[id]; ok {
		t.Fatal("produce acked while ISR member 3 is down")
	}
	c.run(60, tick) // past the lag time
	if got := l.ISR(); !slices.Equal(got, []int32{1, 2}) || !slices.Equal(c.meta.isr, []int32{1, 2}) {
		t.Fatalf("ISR %v, metadata ISR %v, want [1 2]", got, c.meta.isr)
	}
	if _, ok := c.acked[id]; !ok {
		t.Fatalf("produce not acked after the shrink: failed %v", c.failed[id])
	}
	// Follower 2 goes too: a produce waiting when the ISR drops below 2
	// fails after the append, the next one is refused before it.
	c.crash(2)
	pending := c.mustProduce(1, 100, -1)
	c.run(110, tick)
	if got := l.ISR(); !slices.Equal(got, []int32{1}) {
		t.Fatalf("ISR %v, want [1]", got)
	}
	if err := c.failed[pending]; !errors.Is(err, messages.ErrNotEnoughReplicasAfterAppend) {
		t.Fatalf("pending produce error %v, want NOT_ENOUGH_REPLICAS_AFTER_APPEND", err)
	}
	if _, err := c.produce(1, 100, -1); !errors.Is(err, messages.ErrNotEnoughReplicas) {
		t.Fatalf("produce with ISR [1] and min.insync 2: %v, want NOT_ENOUGH_REPLICAS", err)
	}
	if _, err := c.produce(1, 100, 1); err != nil {
		t.Fatalf("acks=1 produce with ISR [1]: %v", err)
	}
}

func TestReplicationFollowerCatchesUpFromLogAndRejoinsISR(t *testing.T) {
	cfg := Config{ReplicaLagTime: 5 * time.Second, MaxPushBytes: 4000, MaxInflightBytes: 8000}
	c := startedCluster(t, cfg, 1, 2, 3)
	l := c.nodes[1].leader
	c.crash(3)
	for range 20 {
		c.mustProduce(5, 1000, -1)
		c.tick(tick)
	}
	c.run(60, tick)
	if got := l.ISR(); !slices.Equal(got, []int32{1, 2}) {
		t.Fatalf("ISR %v with follower 3 down, want [1 2]", got)
	}
	before := c.pushes[3]
	c.restart(3)
	c.run(30, tick)
	if !slices.Equal(c.nodes[3].log.recs, c.nodes[1].log.recs) {
		t.Fatalf("follower 3 has %d records, leader %d", len(c.nodes[3].log.recs), len(c.nodes[1].log.recs))
	}
	if got := l.ISR(); !slices.Equal(got, []int32{1, 2, 3}) || !slices.Equal(c.meta.isr, []int32{1, 2, 3}) {
		t.Fatalf("ISR %v, metadata %v after catch-up, want [1 2 3]", got, c.meta.isr)
	}
	// 100 KB at 4 KB per push: catch-up takes many reads, the window
	// never exceeds 8 KB plus one record.
	if n := c.pushes[3] - before; n < 25 {
		t.Fatalf("%d pushes to catch up 100 KB at 4 KB each", n)
	}
	if m := c.maxInflight[3]; m > 8000+1000 {
		t.Fatalf("in-flight bytes reached %d, window 8000", m)
	}
	if l.HW() != 100 {
		t.Fatalf("HW %d, want 100", l.HW())
	}
}

func TestReplicationCreditWindowBoundsInflightBytes(t *testing.T) {
	cfg := Config{MaxPushBytes: 1000, MaxInflightBytes: 3000, MaxInflightPushes: 100}
	c := startedCluster(t, cfg, 1, 2)
	l := c.nodes[1].leader
	c.cut[[2]int32{2, 1}] = true // acks are lost: credit is never returned
	for range 50 {
		c.mustProduce(1, 400, -1)
	}
	c.settle()
	if got := l.InflightBytes(2); got > 3000+400 || got < 3000 {
		t.Fatalf("in-flight bytes %d, want the 3000 window (+ < 1 record)", got)
	}
	if got := c.nodes[2].log.leo(); got > 9 {
		t.Fatalf("follower received %d records with a 3000-byte window of 400-byte records", got)
	}
	delete(c.cut, [2]int32{2, 1})
	c.run(int(DefaultRetryInterval/tick)+5, tick)
	if got, want := c.nodes[2].log.leo(), int64(50); got != want {
		t.Fatalf("follower LEO %d after acks flow again, want %d", got, want)
	}
	if l.HW() != 50 || len(c.acked) != 50 {
		t.Fatalf("HW %d, %d produces acked, want 50 and 50", l.HW(), len(c.acked))
	}
	if c.maxInflight[2] > 3000+400 {
		t.Fatalf("in-flight bytes reached %d", c.maxInflight[2])
	}
}

func TestReplicationInflightPushCountBound(t *testing.T) {
	cfg := Config{MaxInflightPushes: 3}
	c := startedCluster(t, cfg, 1, 2)
	c.cut[[2]int32{2, 1}] = true
	for range 10 {
		c.mustProduce(1, 10, 1)
	}
	c.settle()
	if got := c.pushes[2]; got != 3 {
		t.Fatalf("%d pushes with acks lost and a window of 3", got)
	}
}

// Divergence (KIP-101): the old leader holds writes no one else has; after
// a leader change it truncates them and takes the new leader's.
func TestReplicationOldLeaderTruncatesUncommittedWrites(t *testing.T) {
	c := startedCluster(t, Config{}, 1, 2, 3)
	c.mustProduce(5, 100, -1)
	c.settle()
	c.cut[[2]int32{1, 2}], c.cut[[2]int32{1, 3}] = true, true
	lost := c.mustProduce(3, 100, 1) // acks=1: on the leader only
	c.settle()
	if _, ok := c.acked[lost]; !ok {
		t.Fatal("acks=1 produce not acknowledged at once")
	}
	c.crash(1)
	clear(c.cut)
	c.failover() // 2 leads epoch 1
	if c.meta.leader != 2 || c.meta.epoch != 1 {
		t.Fatalf("metadata %+v, want leader 2 in epoch 1", c.meta)
	}
	c.mustProduce(4, 100, -1)
	c.settle()
	c.restart(1)
	c.settle()
	want := []int32{0, 0, 0, 0, 0, 1, 1, 1, 1}
	for _, id := range []int32{1, 2, 3} {
		if got := c.epochsOf(id); !slices.Equal(got, want) {
			t.Fatalf("node %d epochs %v, want %v", id, got, want)
		}
	}
	c.run(5, tick)
	if got := c.nodes[2].leader.ISR(); !slices.Equal(got, []int32{1, 2, 3}) {
		t.Fatalf("ISR %v, want old leader back in", got)
	}
}

// Divergence (KIP-279): the follower has an epoch the leader never saw and
// the leader has one the follower never saw; two rounds of
// OffsetsForLeaderEpoch find the point.
func TestReplicationFollowerTruncatesAcrossUnknownEpochs(t *testing.T) {
	c := newSimCluster(t, Config{}, 1, 2)
	c.checkEvery = true
	c.settle()
	// Node 1 (leader to be): epochs 0 (0..4), 1 (5..6), 3 (7..).
	// Node 2: epochs 0 (0..4), 2 (5..7), written when it led epoch 2.
	build := func(id int32, epochs ...int32) {
		n := c.nodes[id]
		n.log = newSimLog()
		for _, e := range epochs {
			n.log.append(simRecord{epoch: e, size: 10})
		}
		n.log.hw = 5
	}
	build(1, 0, 0, 0, 0, 0, 1, 1, 3)
	build(2, 0, 0, 0, 0, 0, 2, 2, 2)
	c.meta.epoch = 3
	queries := c.queries[2]
	c.elect(1) // epoch 4
	c.settle()
	if n := c.queries[2] - queries; n != 2 {
		t.Fatalf("follower asked %d times, want 2 (epoch 2 -> leader says 1; epoch 0 -> 5)", n)
	}
	c.mustProduce(2, 10, -1)
	c.settle()
	want := []int32{0, 0, 0, 0, 0, 1, 1, 3, 4, 4}
	if got := c.epochsOf(2); !slices.Equal(got, want) {
		t.Fatalf("follower epochs %v, want %v", got, want)
	}
	if hw := c.nodes[1].leader.HW(); hw != 10 {
		t.Fatalf("HW %d, want 10", hw)
	}
}

// A follower behind the leader in the same epoch after a restart keeps
// what it has and catches up.
func TestReplicationFollowerRestartKeepsItsLog(t *testing.T) {
	c := startedCluster(t, Config{}, 1, 2)
	c.mustProduce(5, 100, -1)
	c.settle()
	c.crash(2)
	c.mustProduce(3, 100, 1)
	c.restart(2)
	c.settle()
	if got := c.nodes[2].log.leo(); got != 8 {
		t.Fatalf("follower LEO %d, want 8", got)
	}
}

// A leader that lost its leadership without knowing keeps pushing in its
// old epoch: followers of the new epoch fence it, and it cannot commit.
func TestReplicationStaleLeaderIsFenced(t *testing.T) {
	c := startedCluster(t, Config{}, 1, 2, 3)
	c.mustProduce(2, 100, -1)
	c.settle()
	old := c.nodes[1]
	oldLeader := old.leader
	// The controller moves leadership to 2; node 1 does not hear of it.
	c.meta = simMeta{leader: 2, epoch: 1, isr: []int32{1, 2, 3}, version: c.meta.version + 1}
	c.takeRole(c.nodes[2])
	c.takeRole(c.nodes[3])
	c.settle()
	old.leader = oldLeader
	id := c.mustProduceOn(old, 1)
	c.settle()
	if c.fenced == 0 {
		t.Fatal("the stale leader was never told it is fenced")
	}
	if _, ok := c.acked[id]; ok {
		t.Fatal("the stale leader acknowledged an acks=all produce")
	}
	if got := c.nodes[2].log.leo(); got != 2 {
		t.Fatalf("new leader LEO %d, want 2: stale pushes must not land", got)
	}
}

// mustProduceOn appends one record on node n's Leader regardless of the
// metadata, as a stale leader would.
func (c *simCluster) mustProduceOn(n *simNode, count int) uint64 {
	first := n.log.leo()
	var recs []simRecord
	for range count {
		r := simRecord{epoch: n.leader.Epoch(), size: 100}
		n.log.append(r)
		recs = append(recs, r)
	}
	c.nextProduce++
	id := c.nextProduce
	c.pendingAt[id] = produceRange{first: first, last: n.log.leo() - 1, recs: recs, acks: -1}
	c.leaderDo(n, n.leader.OnAppend(n.log.leo()-1, c.now))
	c.leaderDo(n, n.leader.AddPendingProduce(id, n.log.leo()-1, -1, time.Time{}))
	return id
}
