package replication

import (
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// pendingProduce is an acks=all request waiting for the high watermark to
// pass its last offset.
type pendingProduce struct {
	id       uint64
	last     int64
	deadline time.Time // zero: none
}

// CheckProduce is the check before an append: an acks=all (-1) produce is
// refused with NOT_ENOUGH_REPLICAS while the applied ISR is smaller than
// MinInsyncReplicas. Other acks always pass.
func (l *Leader) CheckProduce(acks int32) error {
	if acks == -1 && len(l.isr) < l.cfg.MinInsyncReplicas {
		return messages.Wrap(messages.ErrorCode_NOT_ENOUGH_REPLICAS,
			"in-sync replicas %v fewer than min.insync.replicas %d", l.isr, l.cfg.MinInsyncReplicas)
	}
	return nil
}

// AddPendingProduce registers produce id, whose records end at lastOffset,
// to be completed in Effects.Completed: acks 0 and 1 at once, acks=all
// (-1) once the high watermark passes lastOffset, failing with
// NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR is then smaller than
// MinInsyncReplicas, or with REQUEST_TIMED_OUT at the first tick at or
// after deadline (zero: no deadline).
func (l *Leader) AddPendingProduce(id uint64, lastOffset int64, acks int32, deadline time.Time) Effects {
	var e Effects
	if acks != -1 {
		e.Completed = append(e.Completed, ProduceDone{ID: id})
		return e
	}
	i := len(l.produces)
	for i > 0 && l.produces[i-1].last > lastOffset {
		i--
	}
	l.produces = append(l.produces, pendingProduce{})
	copy(l.produces[i+1:], l.produces[i:])
	l.produces[i] = pendingProduce{id: id, last: lastOffset, deadline: deadline}
	l.completeProduces(&e)
	return e
}

// PendingProduces returns the number of acks=all requests waiting.
func (l *Leader) PendingProduces() int { return len(l.produces) }

// completeProduces completes the produces the high watermark covers.
func (l *Leader) completeProduces(e *Effects) {
	i := 0
	for ; i < len(l.produces) && l.produces[i].last < l.hw; i++ {
		var err error
		if len(l.isr) < l.cfg.MinInsyncReplicas {
			err = messages.Wrap(messages.ErrorCode_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
				"in-sync replicas %v fewer than min.insync.replicas %d", l.isr, l.cfg.MinInsyncReplicas)
		}
		e.Completed = append(e.Completed, ProduceDone{ID: l.produces[i].id, Err: err})
	}
	l.produces = append(l.produces[:0], l.produces[i:]...)
}

// expireProduces fails the produces whose deadline has passed.
func (l *Leader) expireProduces(e *Effects) {
	kept := l.produces[:0]
	for _, p := range l.produces {
		if !p.deadline.IsZero() && !l.now.Before(p.deadline) {
			e.Completed = append(e.Completed, ProduceDone{ID: p.id, Err: messages.Wrap(messages.ErrorCode_REQUEST_TIMED_OUT,
				"offset %d not replicated to the in-sync replicas in time", p.last)})
			continue
		}
		kept = append(kept, p)
	}
	l.produces = kept
}

// Resign fails every waiting produce with NOT_LEADER_OR_FOLLOWER: the
// replica is no longer leader of this epoch. The Leader must not be used
// afterwards.
func (l *Leader) Resign() []ProduceDone {
	out := make([]ProduceDone, 0, len(l.produces))
	for _, p := range l.produces {
		out = append(out, ProduceDone{ID: p.id, Err: messages.Wrap(messages.ErrorCode_NOT_LEADER_OR_FOLLOWER,
			"leader of epoch %d resigned before offset %d was replicated", l.epoch, p.last)})
	}
	l.produces = nil
	return out
}
