package group

import (
	"errors"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// Sync handles a SyncGroup request. In CompletingRebalance every member's
// response waits: the leader's request carries the assignments, which come
// back as a Persist effect, and the responses are released by PersistDone
// once the write succeeded. In Stable the member's assignment is returned
// at once.
func (g *Group) Sync(now time.Time, req SyncRequest) Effects {
	g.begin()
	if err := g.sync(now, req); err != nil {
		g.respondSync(SyncResponse{RequestID: req.RequestID, Err: err})
	}
	return g.end()
}

func (g *Group) sync(now time.Time, req SyncRequest) error {
	if g.state == StateDead {
		return messages.ErrCoordinatorNotAvailable
	}
	if g.fenced(req.MemberID, req.GroupInstanceID) {
		return messages.ErrFencedInstanceID
	}
	m, ok := g.members[req.MemberID]
	if !ok {
		return messages.ErrUnknownMemberID
	}
	if req.Generation != g.generation {
		return messages.ErrIllegalGeneration
	}
	if (req.ProtocolType != "" && req.ProtocolType != g.protocolType) ||
		(req.ProtocolName != "" && req.ProtocolName != g.protocol) {
		return messages.ErrInconsistentGroupProtocol
	}
	switch g.state {
	case StatePreparingRebalance:
		return messages.ErrRebalanceInProgress
	case StateCompletingRebalance:
		g.failSync(m, messages.ErrRebalanceInProgress) // superseded by this retry
		rid := req.RequestID
		m.sync = &rid
		delete(g.unsynced, m.id)
		if m.id == g.leader && !g.storing {
			g.storing = true
			g.assignments = make(map[string][]byte, len(g.members))
			for id := range g.members {
				a := req.Assignments[id]
				if a == nil {
					a = []byte{}
				}
				g.assignments[id] = a
			}
			g.persist(g.snapshot(g.assignments))
		}
	case StateStable:
		m.sessionDeadline = now.Add(m.sessionTimeout)
		delete(g.unsynced, m.id)
		g.respondSync(SyncResponse{RequestID: req.RequestID, ProtocolType: g.protocolType, ProtocolName: g.protocol, Assignment: m.assignment})
	default:
		return messages.ErrUnknownMemberID
	}
	return nil
}

// PersistDone reports the outcome of writing a Persist effect of the given
// generation. After the leader's assignment is stored the group becomes
// Stable and the waiting sync responses are released; if the write failed
// they get the failure (COORDINATOR_NOT_AVAILABLE unless err carries a wire
// code) and the group rebalances. Outcomes for writes that no longer matter
// (the group moved on) are ignored.
func (g *Group) PersistDone(now time.Time, generation int32, err error) Effects {
	g.begin()
	if !g.storing || g.state != StateCompletingRebalance || generation != g.generation {
		return g.end()
	}
	g.storing = false
	if err != nil {
		var werr *messages.Error
		if !errors.As(err, &werr) {
			err = messages.ErrCoordinatorNotAvailable
		}
		for _, id := range g.order {
			g.failSync(g.members[id], err)
		}
		g.prepareRebalance(now)
		return g.end()
	}
	for _, id := range g.order {
		m := g.members[id]
		m.assignment = g.assignments[id]
		if m.sync != nil {
			g.respondSync(SyncResponse{RequestID: *m.sync, ProtocolType: g.protocolType, ProtocolName: g.protocol, Assignment: m.assignment})
			m.sync = nil
			m.sessionDeadline = now.Add(m.sessionTimeout)
		}
	}
	g.assignments = nil
	g.transition(now, StateStable)
	return g.end()
}
