package replication

import (
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// peer is the leader's view of one follower.
type peer struct {
	id int32
	// known is true once the follower answered in this epoch; leo is its
	// log end offset as of the latest answer.
	known bool
	leo   int64
	// next is the offset the next data push starts at.
	next int64
	// streamStart is the first sequence number of the current stream of
	// pushes: answers to older pushes are stale and ignored. ackedSeq is the
	// highest sequence number answered in the stream.
	streamStart uint64
	ackedSeq    uint64
	// inflight are the unacknowledged pushes of the stream, by seq.
	// Invariant: inflightBytes is the sum of their bytes.
	inflight      []inflightPush
	inflightBytes int64
	// lastCaughtUp is the latest time the follower held everything the
	// leader had (Kafka's lastCaughtUpTime).
	lastCaughtUp time.Time
	// lastProbe is when the latest heartbeat went out; sentHW and
	// sentLogStart the high watermark and log start the latest push
	// carried.
	lastProbe    time.Time
	sentHW       int64
	sentLogStart int64
}

type inflightPush struct {
	seq       uint64
	end       int64 // offset after the push's last record
	bytes     int
	sentAt    time.Time
	leaderLEO int64 // the leader's log end offset when it was sent
}

// resetStream forgets the pushes in flight to p: answers to them will be
// ignored and pushes restart at p.next.
func (l *Leader) resetStream(p *peer) {
	p.inflight = p.inflight[:0]
	p.inflightBytes = 0
	p.streamStart = l.nextSeq + 1
	p.ackedSeq = 0
}

// nextPush returns a data push for p when it answered in this epoch, lags
// behind the leader and has credit left.
func (l *Leader) nextPush(p *peer) (Push, bool) {
	if !p.known {
		return l.probe(p)
	}
	if p.next < l.logStart {
		p.next = l.logStart
	}
	if p.next >= l.leo || len(p.inflight) >= l.cfg.MaxInflightPushes || p.inflightBytes >= l.cfg.MaxInflightBytes {
		return Push{}, false
	}
	l.nextSeq++
	return Push{
		To:       p.id,
		Seq:      l.nextSeq,
		From:     p.next,
		MaxBytes: int(min(int64(l.cfg.MaxPushBytes), l.cfg.MaxInflightBytes-p.inflightBytes)),
	}, true
}

// probe returns a heartbeat for a follower that has not answered in this
// epoch, at most one in flight and one per RetryInterval.
func (l *Leader) probe(p *peer) (Push, bool) {
	if len(p.inflight) > 0 || (!p.lastProbe.IsZero() && l.now.Sub(p.lastProbe) < l.cfg.RetryInterval) {
		return Push{}, false
	}
	l.nextSeq++
	return Push{To: p.id, Seq: l.nextSeq, From: p.next, Heartbeat: true}, true
}

// heartbeat returns a heartbeat that tells an idle, caught-up follower a
// high watermark it has not been sent yet.
func (l *Leader) heartbeat(p *peer) (Push, bool) {
	if !p.known || len(p.inflight) > 0 || p.next < l.leo || (p.sentHW >= l.hw && p.sentLogStart >= l.logStart) {
		return Push{}, false
	}
	l.nextSeq++
	return Push{To: p.id, Seq: l.nextSeq, From: p.next, Heartbeat: true}, true
}

// Sent records that push went out carrying the batches from base to end
// (exclusive), bytes long; a heartbeat has base == end == push.From and no
// bytes. A data push with end <= base (nothing could be read) is not
// recorded. It returns the next push for the same follower when it still
// lags and has credit, so an actor drains a follower's window with
//
//	for ok := true; ok; push, ok = leader.Sent(push, base, end, n) { ...read and send push... }
func (l *Leader) Sent(push Push, base, end int64, bytes int) (Push, bool) {
	p := l.lookup[push.To]
	if p == nil || push.Seq < p.streamStart {
		return Push{}, false
	}
	if !push.Heartbeat && end <= base {
		return Push{}, false
	}
	if push.Heartbeat {
		end, bytes = push.From, 0
		p.lastProbe = l.now
	}
	p.inflight = append(p.inflight, inflightPush{seq: push.Seq, end: end, bytes: bytes, sentAt: l.now, leaderLEO: l.leo})
	p.inflightBytes += int64(bytes)
	p.sentHW = max(p.sentHW, l.hw)
	p.sentLogStart = max(p.sentLogStart, l.logStart)
	if push.Heartbeat {
		return Push{}, false
	}
	p.next = max(p.next, end)
	if !p.known {
		return Push{}, false
	}
	return l.nextPush(p)
}

// OnReplicateAck handles a follower's ReplicateResponse: it moves the
// follower's log end offset and lag clock forward, releases credit,
// resends from the follower's log end when a push did not apply, advances
// the high watermark, proposes adding the follower to the ISR once it
// caught up, and returns the next pushes for it.
//
// Answers to pushes of an abandoned stream (before a resend) and answers
// older than one already seen are ignored, so acks arriving out of order
// never move a follower's log end offset back. A seq 0 answer is a
// follower's announcement after truncation and restarts the stream at its
// log end offset.
func (l *Leader) OnReplicateAck(resp *messages.ReplicateResponse, now time.Time) Effects {
	l.clock(now)
	var e Effects
	p := l.lookup[resp.FollowerId]
	if p == nil {
		return e
	}
	if resp.LeaderEpoch > l.epoch {
		// FENCED_LEADER_EPOCH: the follower knows a newer leader.
		e.Fenced = true
		return e
	}
	if resp.ErrorCode == messages.ErrorCode_NONE && resp.LeaderEpoch == l.epoch && resp.Leo > l.leo &&
		(resp.Seq == 0 || (resp.Seq >= p.streamStart && resp.Seq > p.ackedSeq)) {
		// Pushes never carry more than the leader has, and a follower
		// truncates to at most the leader's end before it announces: a
		// longer log is not this leader's (it lost a tail it had in this
		// epoch). Never count it; a new epoch makes the follower truncate.
		p.known = false
		p.lastProbe = l.now
		l.resetStream(p)
		return e
	}
	if resp.Seq == 0 {
		// The follower (re)started in this epoch: whatever was in flight
		// to it is gone.
		if resp.ErrorCode != messages.ErrorCode_NONE || resp.LeaderEpoch != l.epoch {
			return e
		}
		p.known, p.leo, p.next = true, resp.Leo, resp.Leo
		l.resetStream(p)
		l.afterAck(p, &e)
		return e
	}
	if resp.Seq < p.streamStart || resp.Seq <= p.ackedSeq {
		return e
	}
	if resp.ErrorCode != messages.ErrorCode_NONE || resp.LeaderEpoch != l.epoch {
		// Not ready (truncating, or behind on metadata): probe again later.
		p.known = false
		p.lastProbe = l.now
		l.resetStream(p)
		return e
	}
	i := 0
	for i < len(p.inflight) && p.inflight[i].seq < resp.Seq {
		i++
	}
	if i == len(p.inflight) || p.inflight[i].seq != resp.Seq {
		return e
	}
	push := p.inflight[i]
	p.ackedSeq = resp.Seq
	for _, f := range p.inflight[:i+1] {
		p.inflightBytes -= int64(f.bytes)
	}
	p.inflight = append(p.inflight[:0], p.inflight[i+1:]...)
	p.known, p.leo = true, resp.Leo
	if resp.Leo != push.end {
		// The push did not apply where it was meant to: a gap, a
		// duplicate or a heartbeat off the follower's end. Resend from
		// where the follower is.
		p.next = resp.Leo
		l.resetStream(p)
	}
	switch {
	case p.leo >= l.leo:
		p.lastCaughtUp = l.now
	case p.leo >= push.leaderLEO && push.sentAt.After(p.lastCaughtUp):
		p.lastCaughtUp = push.sentAt
	}
	l.afterAck(p, &e)
	return e
}

// afterAck applies what a new log end offset of p allows.
func (l *Leader) afterAck(p *peer, e *Effects) {
	if p.leo >= l.leo {
		p.lastCaughtUp = l.now
	}
	l.maybeExpand(p, e)
	l.maybeAdvanceHW(e)
	if push, ok := l.nextPush(p); ok {
		e.Sends = append(e.Sends, push)
	}
}
