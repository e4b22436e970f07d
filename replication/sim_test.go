package replication

import (
	"math/rand"
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// This file is a deterministic simulation of a partition's replicas: logs
// of offsets only (each record is its leader epoch and a size in bytes),
// an in-memory network with optional drops, delays and cuts, a metadata
// store that applies ISR changes by CAS and elects leaders from the ISR,
// and the glue a replica actor provides, driving Leader and Follower
// exactly as the actor does.

// envelope is a message in flight.
type envelope struct {
	from, to int32
	msg      any
	at       time.Time
	order    uint64
}

// simNode is one replica: its log and, by role, a Leader or a Follower.
type simNode struct {
	id        int32
	log       *simLog
	alive     bool
	leader    *Leader
	follower  *Follower
	lastQuery time.Time
}

// simMeta is the metadata store's partition state.
type simMeta struct {
	leader  int32
	epoch   int32
	isr     []int32
	version int
}

// simCluster drives the replicas of one partition.
type simCluster struct {
	t        *testing.T
	cfg      Config
	now      time.Time
	replicas []int32
	nodes    map[int32]*simNode
	meta     simMeta

	// network
	queue    []envelope
	order    uint64
	rng      *rand.Rand
	dropRate float64
	maxDelay time.Duration
	cut      map[[2]int32]bool

	// holdISR keeps ISR proposals pending until released.
	holdISR   bool
	proposals []ISRChange

	nextProduce uint64
	// acked holds every acks=all produce that succeeded: id -> last offset.
	acked     map[uint64]int64
	ackedRecs map[int64]simRecord // offset -> record of acknowledged offsets
	maxAcked  int64               // highest acknowledged offset, -1 if none
	// verified caches, per follower, how far its log was checked to be a
	// prefix of the leader's, and at which log generations.
	verified  map[int32]prefixCheck
	pendingAt map[uint64]produceRange
	failed    map[uint64]error
	fenced    int
	// pushes counts the data pushes sent, by follower.
	pushes map[int32]int
	// maxInflight is the largest in-flight byte count seen per follower.
	maxInflight map[int32]int64
	// queries counts the OffsetsForLeaderEpoch requests, by follower.
	queries map[int32]int
	// checkEvery runs the invariants after every delivered message.
	checkEvery bool
}

func newSimCluster(t *testing.T, cfg Config, replicas ...int32) *simCluster {
	t.Helper()
	c := &simCluster{
		t:           t,
		cfg:         cfg,
		now:         time.Unix(1_700_000_000, 0),
		replicas:    replicas,
		nodes:       make(map[int32]*simNode),
		rng:         rand.New(rand.NewSource(1)),
		cut:         make(map[[2]int32]bool),
		acked:       make(map[uint64]int64),
		ackedRecs:   make(map[int64]simRecord),
		maxAcked:    -1,
		verified:    make(map[int32]prefixCheck),
		pendingAt:   make(map[uint64]produceRange),
		failed:      make(map[uint64]error),
		pushes:      make(map[int32]int),
		maxInflight: make(map[int32]int64),
		queries:     make(map[int32]int),
	}
	for _, id := range replicas {
		c.nodes[id] = &simNode{id: id, log: newSimLog(), alive: true}
	}
	c.meta = simMeta{leader: replicas[0], epoch: 0, isr: slices.Clone(replicas)}
	slices.Sort(c.meta.isr)
	for _, id := range replicas {
		c.takeRole(c.nodes[id])
	}
	return c
}

// takeRole gives a live node the role the metadata says.
func (c *simCluster) takeRole(n *simNode) {
	if n.leader != nil {
		for _, d := range n.leader.Resign() {
			c.complete(d)
		}
	}
	n.leader, n.follower = nil, nil
	if !n.alive || c.meta.leader < 0 {
		return
	}
	if c.meta.leader == n.id {
		if c.meta.epoch > n.log.latestEpoch() {
			if err := n.log.epochs.Assign(c.meta.epoch, n.log.leo()); err != nil {
				c.t.Fatalf("node %d: assign epoch: %v", n.id, err)
			}
		}
		n.leader = NewLeader(c.cfg, n.id, c.meta.epoch, c.replicas, c.meta.isr, n.log.leo(), n.log.hw)
		c.leaderDo(n, n.leader.OnTick(c.now))
		return
	}
	f, eff := NewFollower(n.id, c.meta.leader, c.meta.epoch, n.log.leo(), n.log.hw, n.log.latestEpoch())
	n.follower = f
	c.followerDo(n, eff)
}

// leaderDo carries out a Leader's effects, as the replica actor does.
func (c *simCluster) leaderDo(n *simNode, e Effects) {
	for _, p := range e.Sends {
		c.sendPushes(n, p)
	}
	for _, d := range e.Completed {
		c.complete(d)
	}
	if e.ISRChange != nil {
		c.proposals = append(c.proposals, *e.ISRChange)
		if !c.holdISR {
			c.applyProposals()
		}
	}
	if e.HWChanged {
		n.log.hw = e.HW
	}
	if e.Fenced {
		c.fenced++
	}
}

func (c *simCluster) sendPushes(n *simNode, p Push) {
	l, to := n.leader, p.To
	for ok := true; ok; {
		req := &messages.ReplicateRequest{
			LeaderEpoch: l.Epoch(), LeaderId: n.id, LeaderHw: l.HW(), LeaderLogStart: n.log.start, Seq: p.Seq,
			BaseOffset: p.From, EndOffset: p.From,
		}
		var bytes int
		if !p.Heartbeat {
			recs, base, end, size := n.log.read(p.From, p.MaxBytes)
			if len(recs) == 0 {
				return
			}
			req.Records, req.BaseOffset, req.EndOffset, bytes = encodeRecords(recs), base, end, size
			c.pushes[to]++
		}
		c.send(n.id, to, req)
		p, ok = l.Sent(p, req.BaseOffset, req.EndOffset, bytes)
		c.maxInflight[to] = max(c.maxInflight[to], l.InflightBytes(to))
	}
}

// followerDo carries out a Follower's effects, as the replica actor does.
func (c *simCluster) followerDo(n *simNode, eff FollowerEffects) {
	for eff.Truncate {
		c.checkTruncation(n, eff.TruncateTo)
		n.log.truncateTo(eff.TruncateTo)
		eff = n.follower.Truncated(n.log.leo(), n.log.latestEpoch())
	}
	if eff.Query != nil {
		n.lastQuery = c.now
		c.queries[n.id]++
		c.send(n.id, n.follower.Leader(), &messages.OffsetsForLeaderEpochRequest{
			LeaderEpoch: eff.Query.LeaderEpoch, RequestedEpoch: eff.Query.RequestedEpoch, ReplicaId: n.id,
		})
	}
	if eff.Announce != nil {
		c.send(n.id, n.follower.Leader(), eff.Announce)
	}
	n.log.hw = n.follower.HW()
}

// produceRange is what a produce appended.
type produceRange struct {
	first, last int64
	recs        []simRecord
	acks        int32
}

func (c *simCluster) complete(d ProduceDone) {
	r, ok := c.pendingAt[d.ID]
	if !ok {
		c.t.Fatalf("produce %d completed twice or never added", d.ID)
	}
	delete(c.pendingAt, d.ID)
	if d.Err != nil {
		c.failed[d.ID] = d.Err
		return
	}
	c.acked[d.ID] = r.last
	if r.acks != -1 {
		return
	}
	for i, rec := range r.recs {
		o := r.first + int64(i)
		c.ackedRecs[o] = rec
		c.maxAcked = max(c.maxAcked, o)
		for _, id := range c.meta.isr {
			if l := c.nodes[id].log; o >= l.leo() || l.at(o) != rec {
				c.t.Fatalf("offset %d acknowledged while ISR member %d lacks it (log ends at %d)", o, id, l.leo())
			}
		}
	}
}

// applyProposals applies (or refuses) the pending ISR proposals by CAS on
// the leader epoch, and reports the outcome to the proposing leader.
func (c *simCluster) applyProposals() {
	for len(c.proposals) > 0 {
		p := c.proposals[0]
		c.proposals = c.proposals[1:]
		n := c.nodes[c.meta.leader]
		if c.meta.leader < 0 || p.LeaderEpoch != c.meta.epoch || n.leader == nil || n.leader.Epoch() != p.LeaderEpoch {
			for _, m := range c.nodes {
				if m.leader != nil && m.leader.Epoch() == p.LeaderEpoch {
					c.leaderDo(m, m.leader.OnISRChangeFailed())
				}
			}
			continue
		}
		c.checkAcked(p.ISR)
		c.meta.isr = slices.Clone(p.ISR)
		c.meta.version++
		c.leaderDo(n, n.leader.OnISRChangeApplied(p.ISR))
	}
}

// releaseISR applies the held proposals and stops holding.
func (c *simCluster) releaseISR() {
	c.holdISR = false
	c.applyProposals()
}

// send puts a message on the network: dropped when either end is down, the
// link is cut or the dice say so; delayed up to maxDelay.
func (c *simCluster) send(from, to int32, msg any) {
	if c.cut[[2]int32{from, to}] || !c.nodes[from].alive {
		return
	}
	if c.dropRate > 0 && c.rng.Float64() < c.dropRate {
		return
	}
	at := c.now
	if c.maxDelay > 0 {
		at = at.Add(time.Duration(c.rng.Int63n(int64(c.maxDelay))))
	}
	c.order++
	c.queue = append(c.queue, envelope{from: from, to: to, msg: msg, at: at, order: c.order})
}

// deliverDue delivers, in time order, every message due by now, including
// those sent while delivering. It returns the number delivered.
func (c *simCluster) deliverDue() int {
	delivered := 0
	for {
		i := -1
		for j, e := range c.queue {
			if e.at.After(c.now) {
				continue
			}
			if i < 0 || e.at.Before(c.queue[i].at) || (e.at.Equal(c.queue[i].at) && e.order < c.queue[i].order) {
				i = j
			}
		}
		if i < 0 {
			return delivered
		}
		e := c.queue[i]
		c.queue = append(c.queue[:i], c.queue[i+1:]...)
		delivered++
		c.deliver(e)
		if c.checkEvery {
			c.checkInvariants()
		}
	}
}

func (c *simCluster) deliver(e envelope) {
	n := c.nodes[e.to]
	if !n.alive || c.cut[[2]int32{e.from, e.to}] {
		return
	}
	switch m := e.msg.(type) {
	case *messages.ReplicateRequest:
		c.handleReplicate(n, e.from, m)
	case *messages.ReplicateResponse:
		if n.leader != nil {
			c.leaderDo(n, n.leader.OnReplicateAck(m, c.now))
		}
	case *messages.OffsetsForLeaderEpochRequest:
		resp := &messages.OffsetsForLeaderEpochResponse{ErrorCode: messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, LeaderEpoch: -1, EndOffset: -1}
		if n.leader != nil {
			resp = n.leader.AnswerEpochQuery(m, n.log)
		}
		c.send(n.id, e.from, resp)
	case *messages.OffsetsForLeaderEpochResponse:
		if n.follower != nil {
			c.followerDo(n, n.follower.OnEpochEndOffset(m, n.log))
		}
	default:
		c.t.Fatalf("unexpected message %T", m)
	}
}

// handleReplicate is the follower actor's handling of a push.
func (c *simCluster) handleReplicate(n *simNode, from int32, req *messages.ReplicateRequest) {
	if n.follower == nil {
		epoch := c.meta.epoch
		if n.leader != nil {
			epoch = n.leader.Epoch()
		}
		resp, _ := RefusePush(n.id, epoch, req)
		c.send(n.id, from, resp)
		return
	}
	d := n.follower.OnPush(req)
	if !d.Append {
		n.log.hw = n.follower.HW()
		c.send(n.id, from, d.Response)
		return
	}
	if d.StartAt >= 0 {
		c.checkTruncation(n, n.log.start)
		n.log.restartAt(d.StartAt)
	}
	if err := n.log.appendReplicated(req.BaseOffset, decodeRecords(req.Records)); err != nil {
		c.t.Fatalf("node %d: follower asked to append a push it cannot: %v", n.id, err)
	}
	resp, _ := n.follower.Appended(req, n.log.leo())
	n.log.hw = n.follower.HW()
	c.send(n.id, from, resp)
}

// tick advances the clock by d, delivering what falls due on the way, and
// runs every replica's periodic work at the end.
func (c *simCluster) tick(d time.Duration) {
	const step = 5 * time.Millisecond
	for end := c.now.Add(d); c.now.Before(end); {
		c.now = c.now.Add(step)
		if c.now.After(end) {
			c.now = end
		}
		c.deliverDue()
	}
	for _, id := range c.replicas {
		n := c.nodes[id]
		switch {
		case !n.alive:
		case n.leader != nil:
			c.leaderDo(n, n.leader.OnTick(c.now))
		case n.follower != nil:
			if q, ok := n.follower.PendingQuery(); ok && c.now.Sub(n.lastQuery) >= c.cfg.withDefaults().RetryInterval {
				c.followerDo(n, FollowerEffects{Query: &q})
			}
		}
	}
	c.deliverDue()
}

// settle delivers until nothing is in flight (no delays assumed).
func (c *simCluster) settle() {
	for c.deliverDue() > 0 {
	}
}

// run ticks n times by step.
func (c *simCluster) run(n int, step time.Duration) {
	for range n {
		c.tick(step)
	}
}

// leaderNode is the node the metadata names leader.
func (c *simCluster) leaderNode() *simNode {
	if c.meta.leader < 0 {
		return nil
	}
	return c.nodes[c.meta.leader]
}

// produce appends count records of size bytes on the leader with acks and
// returns the produce id, or the refusal.
func (c *simCluster) produce(count int, size int32, acks int32) (uint64, error) {
	n := c.leaderNode()
	if n == nil || n.leader == nil {
		return 0, messages.ErrNotLeaderOrFollower
	}
	if err := n.leader.CheckProduce(acks); err != nil {
		return 0, err
	}
	first := n.log.leo()
	var recs []simRecord
	for range count {
		r := simRecord{epoch: n.leader.Epoch(), size: size}
		n.log.append(r)
		recs = append(recs, r)
	}
	last := n.log.leo() - 1
	c.nextProduce++
	id := c.nextProduce
	c.pendingAt[id] = produceRange{first: first, last: last, recs: recs, acks: acks}
	c.leaderDo(n, n.leader.OnAppend(last, c.now))
	c.leaderDo(n, n.leader.AddPendingProduce(id, last, acks, time.Time{}))
	return id, nil
}

// mustProduce produces and fails the test on a refusal.
func (c *simCluster) mustProduce(count int, size int32, acks int32) uint64 {
	c.t.Helper()
	id, err := c.produce(count, size, acks)
	if err != nil {
		c.t.Fatalf("produce: %v", err)
	}
	return id
}

// crash stops a node: its state machines go, its log stays (the sim's
// logs are durable), messages to it are lost.
func (c *simCluster) crash(id int32) {
	n := c.nodes[id]
	n.alive = false
	if n.leader != nil {
		for _, d := range n.leader.Resign() {
			c.complete(d)
		}
	}
	n.leader, n.follower = nil, nil
}

// restart brings a crashed node back in the role the metadata gives it.
func (c *simCluster) restart(id int32) {
	n := c.nodes[id]
	n.alive = true
	if c.meta.leader < 0 && slices.Contains(c.meta.isr, id) {
		c.elect(id)
		return
	}
	c.takeRole(n)
}

// elect makes id leader of a new epoch, as the controller does: the ISR
// keeps its live members and the new leader. Every live node takes its
// new role.
func (c *simCluster) elect(id int32) { c.electWith(id, func(int32) bool { return true }) }

// electWith is elect where only the nodes learn says learn of the change
// now; the others keep their old role (and epoch) until takeRole.
func (c *simCluster) electWith(id int32, learn func(int32) bool) {
	isr := []int32{id}
	for _, m := range c.meta.isr {
		if m != id && c.nodes[m].alive {
			isr = append(isr, m)
		}
	}
	slices.Sort(isr)
	c.checkAcked(isr)
	c.meta = simMeta{leader: id, epoch: c.meta.epoch + 1, isr: isr, version: c.meta.version + 1}
	for _, rid := range c.replicas {
		if rid == id || learn(rid) {
			c.takeRole(c.nodes[rid])
		}
	}
}

// failover elects the first live ISR member other than the current leader,
// or leaves the partition without a leader (no unclean election).
func (c *simCluster) failover() bool {
	for _, m := range c.meta.isr {
		if m != c.meta.leader && c.nodes[m].alive {
			c.elect(m)
			return true
		}
	}
	c.meta.leader = -1
	c.meta.epoch++
	c.meta.version++
	for _, rid := range c.replicas {
		c.takeRole(c.nodes[rid])
	}
	return false
}

// epochsOf returns the epochs of a log's records, for comparisons.
func (c *simCluster) epochsOf(id int32) []int32 {
	l := c.nodes[id].log
	out := make([]int32, len(l.recs))
	for i, r := range l.recs {
		out[i] = r.epoch
	}
	return out
}
