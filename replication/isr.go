package replication

import (
	"slices"
)

// checkISR proposes at most one ISR change: removing the in-sync followers
// that have not caught up for ReplicaLagTime, or else adding one follower
// that caught up.
func (l *Leader) checkISR(e *Effects) {
	if l.pending != nil {
		return
	}
	var lagging []int32
	for _, id := range l.isr {
		if p := l.lookup[id]; p != nil && l.now.Sub(p.lastCaughtUp) > l.cfg.ReplicaLagTime {
			lagging = append(lagging, id)
		}
	}
	if len(lagging) > 0 {
		isr := slices.DeleteFunc(slices.Clone(l.isr), func(id int32) bool { return slices.Contains(lagging, id) })
		l.propose(isr, e)
		return
	}
	for _, p := range l.followers {
		l.maybeExpand(p, e)
	}
}

// maybeExpand proposes adding p to the ISR when its log reaches both the
// high watermark and the start of the leader's epoch (Kafka's
// isFollowerInSync), p is a replica and no change is pending.
func (l *Leader) maybeExpand(p *peer, e *Effects) {
	if l.pending != nil || !p.known || slices.Contains(l.isr, p.id) || !slices.Contains(l.replicas, p.id) {
		return
	}
	if p.leo < l.hw || p.leo < l.epochStart {
		return
	}
	isr := append(slices.Clone(l.isr), p.id)
	slices.Sort(isr)
	l.propose(isr, e)
}

func (l *Leader) propose(isr []int32, e *Effects) {
	l.pending = &ISRChange{LeaderEpoch: l.epoch, ISR: isr}
	e.ISRChange = &ISRChange{LeaderEpoch: l.epoch, ISR: slices.Clone(isr)}
}

// OnISRChangeApplied records that the metadata store now holds isr for
// this epoch (normally the pending proposal). A shrink may let the high
// watermark advance; produces then complete, failing with
// NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR fell below
// MinInsyncReplicas. The next change, if any, is proposed at once.
func (l *Leader) OnISRChangeApplied(isr []int32) Effects {
	var e Effects
	l.pending = nil
	added := normalizeISR(isr, l.self)
	for _, id := range added {
		if p := l.lookup[id]; p != nil && !slices.Contains(l.isr, id) {
			// It reached the high watermark just now: start its lag
			// clock here rather than shrink it again at the next tick.
			p.lastCaughtUp = l.now
		}
	}
	l.isr = added
	l.maybeAdvanceHW(&e)
	l.checkISR(&e)
	return e
}

// OnISRChangeFailed records that the pending proposal was not applied (the
// CAS lost: the metadata changed under it). The applied ISR stands; a
// still-needed change is proposed again at the next tick or ack.
func (l *Leader) OnISRChangeFailed() Effects {
	var e Effects
	l.pending = nil
	l.maybeAdvanceHW(&e)
	return e
}
