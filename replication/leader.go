package replication

import (
	"slices"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// Leader is the replication bookkeeping of a partition's leader replica for
// one leader epoch: what each follower holds, what is in flight to it, the
// high watermark, the ISR and the acks=all produces waiting for it. It has
// no goroutines and does no I/O; it is not safe for concurrent use. A new
// epoch needs a new Leader.
//
// Owned by the replica actor; never touched outside Receive.
type Leader struct {
	cfg   Config
	self  int32
	epoch int32
	// epochStart is the log end offset when the leader took the epoch: a
	// follower joins the ISR only once its log reaches it, so it holds every
	// record of the previous epochs the leader kept.
	epochStart int64
	replicas   []int32
	// isr is the applied ISR, ascending, self included.
	isr []int32
	// pending is the ISR change proposed and not yet applied or failed.
	pending *ISRChange

	// Invariant: logStart <= hw <= leo; hw never decreases.
	leo, hw, logStart int64

	// now is the time of the latest event; started is false until the
	// first one.
	now     time.Time
	started bool
	// nextSeq is the sequence number of the last push issued; seq 0 is
	// reserved for a follower's unsolicited announcement.
	nextSeq uint64

	followers []*peer          // in replica order, self excluded
	produces  []pendingProduce // acks=all requests by last offset
	lookup    map[int32]*peer  // by follower id
}

// NewLeader starts the bookkeeping of node self leading epoch with the
// given replicas and ISR, its log ending at leo with high watermark hw.
// Followers are probed at the first event (call OnTick right away); until
// a follower has answered in this epoch its log end offset is unknown and
// holds the high watermark back if it is in the ISR.
func NewLeader(cfg Config, self int32, epoch int32, replicas, isr []int32, leo, hw int64) *Leader {
	cfg = cfg.withDefaults()
	hw = min(max(hw, 0), leo)
	l := &Leader{
		cfg:        cfg,
		self:       self,
		epoch:      epoch,
		epochStart: leo,
		replicas:   slices.Clone(replicas),
		isr:        normalizeISR(isr, self),
		leo:        leo,
		hw:         hw,
		lookup:     make(map[int32]*peer),
	}
	for _, id := range append(slices.Clone(replicas), isr...) {
		if id == self || l.lookup[id] != nil {
			continue
		}
		p := &peer{id: id, next: leo}
		l.followers = append(l.followers, p)
		l.lookup[id] = p
	}
	return l
}

// normalizeISR returns isr sorted, without duplicates, with self in it.
func normalizeISR(isr []int32, self int32) []int32 {
	out := append(slices.Clone(isr), self)
	slices.Sort(out)
	return slices.Compact(out)
}

// Epoch is the leader epoch.
func (l *Leader) Epoch() int32 { return l.epoch }

// HW is the high watermark: the first offset not known to be on every ISR
// member.
func (l *Leader) HW() int64 { return l.hw }

// LEO is the leader's log end offset as last reported by OnAppend.
func (l *Leader) LEO() int64 { return l.leo }

// ISR returns the applied in-sync replica set, ascending.
func (l *Leader) ISR() []int32 { return slices.Clone(l.isr) }

// InISR reports whether id is in the ISR, without copying it.
func (l *Leader) InISR(id int32) bool { return slices.Contains(l.isr, id) }

// PendingISR returns the proposed ISR awaiting its CAS, if any.
func (l *Leader) PendingISR() (ISRChange, bool) {
	if l.pending == nil {
		return ISRChange{}, false
	}
	return ISRChange{LeaderEpoch: l.pending.LeaderEpoch, ISR: slices.Clone(l.pending.ISR)}, true
}

// FollowerLEO returns what the leader knows of a follower's log end
// offset; ok is false when the follower has not answered in this epoch.
func (l *Leader) FollowerLEO(id int32) (leo int64, ok bool) {
	p := l.lookup[id]
	if p == nil || !p.known {
		return 0, false
	}
	return p.leo, true
}

// InflightBytes returns the bytes pushed to a follower and not yet
// acknowledged.
func (l *Leader) InflightBytes(id int32) int64 {
	if p := l.lookup[id]; p != nil {
		return p.inflightBytes
	}
	return 0
}

// SetLogStart records that the leader's log now starts at offset
// (retention or DeleteRecords): pushes never start below it, and an idle
// follower gets a heartbeat carrying the new start (a follower advances
// its own log start to it, DeleteRecords' replication).
func (l *Leader) SetLogStart(offset int64) { l.logStart = max(l.logStart, offset) }

// clock records the time of an event. The first event starts every ISR
// member's lag clock, as Kafka does for a new leader.
func (l *Leader) clock(now time.Time) {
	if !l.started {
		l.started = true
		for _, p := range l.followers {
			if slices.Contains(l.isr, p.id) {
				p.lastCaughtUp = now
			}
		}
	}
	if now.After(l.now) {
		l.now = now
	}
}

// OnAppend records that the leader's log now ends after lastOffset and
// returns the pushes that carry the new records to followers with credit,
// and, when the ISR is the leader alone, the high watermark advance and
// the produces it completes.
func (l *Leader) OnAppend(lastOffset int64, now time.Time) Effects {
	l.clock(now)
	var e Effects
	if lastOffset+1 > l.leo {
		l.leo = lastOffset + 1
	}
	l.maybeAdvanceHW(&e)
	for _, p := range l.followers {
		if push, ok := l.nextPush(p); ok {
			e.Sends = append(e.Sends, push)
		}
	}
	return e
}

// maximalISR is the ISR the high watermark must respect: the applied one
// plus any member a pending change adds. A pending shrink does not count
// until it is applied (Kafka's maximal ISR).
func (l *Leader) maximalISR() []int32 {
	if l.pending == nil {
		return l.isr
	}
	out := append(slices.Clone(l.isr), l.pending.ISR...)
	slices.Sort(out)
	return slices.Compact(out)
}

// maybeAdvanceHW moves the high watermark to the smallest log end offset
// over the maximal ISR, counting only followers that answered in this
// epoch, and completes the produces it covers.
func (l *Leader) maybeAdvanceHW(e *Effects) {
	hw := l.leo
	for _, id := range l.maximalISR() {
		if id == l.self {
			continue
		}
		p := l.lookup[id]
		if p == nil || !p.known {
			return
		}
		hw = min(hw, p.leo)
	}
	if hw > l.hw {
		l.hw = hw
		e.HWChanged, e.HW = true, hw
	}
	l.completeProduces(e)
}

// OnTick runs the periodic work: lag clocks of caught-up followers,
// produce deadlines, lost pushes, probes of silent followers, high
// watermark heartbeats and ISR shrink and expansion. Call it every
// fraction of RetryInterval and once right after NewLeader.
func (l *Leader) OnTick(now time.Time) Effects {
	l.clock(now)
	var e Effects
	l.expireProduces(&e)
	for _, p := range l.followers {
		if p.known && p.leo >= l.leo {
			p.lastCaughtUp = l.now
		}
		if len(p.inflight) > 0 && l.now.Sub(p.inflight[0].sentAt) >= l.cfg.RetryInterval {
			// Lost push or ack: start again from what the follower has.
			if p.known {
				p.next = p.leo
			}
			p.sentHW, p.sentLogStart = 0, 0
			l.resetStream(p)
		}
	}
	l.checkISR(&e)
	l.maybeAdvanceHW(&e)
	for _, p := range l.followers {
		if push, ok := l.nextPush(p); ok {
			e.Sends = append(e.Sends, push)
		} else if push, ok := l.heartbeat(p); ok {
			e.Sends = append(e.Sends, push)
		}
	}
	return e
}

// AnswerEpochQuery answers a follower's OffsetsForLeaderEpochRequest from
// the leader's log: fenced when the follower's epoch is older, unknown
// when it is newer, otherwise the largest epoch <= the requested one and
// where it ends (see EpochEnds).
func (l *Leader) AnswerEpochQuery(req *messages.OffsetsForLeaderEpochRequest, log EpochEnds) *messages.OffsetsForLeaderEpochResponse {
	return AnswerEpochQuery(l.epoch, req, log)
}

// AnswerEpochQuery answers req for a leader in epoch current; see
// Leader.AnswerEpochQuery. A request without a current epoch (-1, a Kafka
// consumer's before v2) is not fenced.
func AnswerEpochQuery(current int32, req *messages.OffsetsForLeaderEpochRequest, log EpochEnds) *messages.OffsetsForLeaderEpochResponse {
	resp := &messages.OffsetsForLeaderEpochResponse{LeaderEpoch: -1, EndOffset: -1}
	switch {
	case req.LeaderEpoch >= 0 && req.LeaderEpoch < current:
		resp.ErrorCode = messages.ErrorCode_FENCED_LEADER_EPOCH
	case req.LeaderEpoch > current:
		resp.ErrorCode = messages.ErrorCode_UNKNOWN_LEADER_EPOCH
	default:
		resp.LeaderEpoch, resp.EndOffset = log.EndOffsetForEpoch(req.RequestedEpoch)
	}
	return resp
}

// EpochEnds is a log's leader-epoch lookup; *commitlog.Log implements it.
type EpochEnds interface {
	// EndOffsetForEpoch returns the largest epoch <= epoch in the log and
	// the offset where it ends (the log end offset for the latest epoch),
	// or (-1, -1) when epoch is above the latest or the log has none.
	EndOffsetForEpoch(epoch int32) (foundEpoch int32, endOffset int64)
}
