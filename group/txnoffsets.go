package group

import (
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// TxnCommitOffsets decides whether a TxnOffsetCommit from req's member may
// be stored (Kafka's rules for transactional commits, KIP-447): a request
// naming no member and no generation is accepted (producers that do not
// send the consumer's group metadata); one naming a member must come from
// a current member (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID), and a
// generation, when given, must be the current one (ILLEGAL_GENERATION).
// Unlike OffsetCommit it is accepted during a rebalance: the offsets only
// count once the transaction commits. A Dead group gets
// COORDINATOR_NOT_AVAILABLE.
func (g *Group) TxnCommitOffsets(now time.Time, req HeartbeatRequest) error {
	if req.MemberID == "" && req.GroupInstanceID == "" && req.Generation < 0 {
		if g.state == StateDead {
			return messages.ErrCoordinatorNotAvailable
		}
		return nil
	}
	m, err := g.validateMember(req)
	if err != nil {
		return err
	}
	m.sessionDeadline = now.Add(m.sessionTimeout)
	return nil
}

// PendingOffsets holds a group's transactional offset commits that are
// written to the log but not yet resolved: per producer id, the offsets of
// its open transaction. A COMMIT marker for the producer makes them the
// group's committed offsets; an ABORT marker drops them.
type PendingOffsets struct {
	// Invariant: no producer maps to an empty set.
	byProducer map[int64]map[Partition]OffsetValue
}

// NewPendingOffsets returns an empty set.
func NewPendingOffsets() *PendingOffsets {
	return &PendingOffsets{byProducer: make(map[int64]map[Partition]OffsetValue)}
}

// Add records offsets written for producerID's open transaction; later
// ones replace earlier ones of the same partition.
func (p *PendingOffsets) Add(producerID int64, offsets map[Partition]OffsetValue) {
	if len(offsets) == 0 {
		return
	}
	cur := p.byProducer[producerID]
	if cur == nil {
		cur = make(map[Partition]OffsetValue, len(offsets))
		p.byProducer[producerID] = cur
	}
	for tp, v := range offsets {
		cur[tp] = v
	}
}

// Delete drops one pending offset of producerID (a tombstone written in
// its transaction).
func (p *PendingOffsets) Delete(producerID int64, tp Partition) {
	if cur := p.byProducer[producerID]; cur != nil {
		delete(cur, tp)
		if len(cur) == 0 {
			delete(p.byProducer, producerID)
		}
	}
}

// Complete resolves producerID's transaction: it returns the offsets that
// become committed (nil for an abort or when none are pending) and forgets
// them.
func (p *PendingOffsets) Complete(producerID int64, commit bool) map[Partition]OffsetValue {
	cur := p.byProducer[producerID]
	delete(p.byProducer, producerID)
	if !commit {
		return nil
	}
	return cur
}

// Has reports whether producerID has pending offsets.
func (p *PendingOffsets) Has(producerID int64) bool { return p.byProducer[producerID] != nil }

// Producers is the number of producers with pending offsets.
func (p *PendingOffsets) Producers() int { return len(p.byProducer) }

// Pending reports whether tp has an offset waiting for any producer's
// transaction.
func (p *PendingOffsets) Pending(tp Partition) bool {
	for _, offs := range p.byProducer {
		if _, ok := offs[tp]; ok {
			return true
		}
	}
	return false
}
