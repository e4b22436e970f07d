package group

import (
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// Heartbeat handles a Heartbeat request, refreshing the member's session. It
// returns nil, REBALANCE_IN_PROGRESS (the member must rejoin), or
// UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID,
// COORDINATOR_NOT_AVAILABLE. A heartbeat only ever moves deadlines later,
// so the caller's timer stays valid.
func (g *Group) Heartbeat(now time.Time, req HeartbeatRequest) error {
	m, err := g.validateMember(req)
	if err != nil {
		return err
	}
	m.sessionDeadline = now.Add(m.sessionTimeout)
	if g.state == StatePreparingRebalance {
		return messages.ErrRebalanceInProgress
	}
	return nil
}

// validateMember checks that req names a current member of the current
// generation.
func (g *Group) validateMember(req HeartbeatRequest) (*member, error) {
	if g.state == StateDead {
		return nil, messages.ErrCoordinatorNotAvailable
	}
	if g.fenced(req.MemberID, req.GroupInstanceID) {
		return nil, messages.ErrFencedInstanceID
	}
	m, ok := g.members[req.MemberID]
	if !ok {
		return nil, messages.ErrUnknownMemberID
	}
	if req.Generation != g.generation {
		return nil, messages.ErrIllegalGeneration
	}
	return m, nil
}

// CommitOffsets decides whether an offset commit from req's member may be
// stored; the caller stores the offsets. Kafka's rules:
//   - an Empty group accepts commits with generation < 0 (and any member id):
//     the group only uses the coordinator to store offsets (simple consumers,
//     admin tools);
//   - during CompletingRebalance commits fail with REBALANCE_IN_PROGRESS;
//   - otherwise a commit naming a member or a generation must come from a
//     current member (UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID) of the current
//     generation (ILLEGAL_GENERATION); one naming neither (member "",
//     generation -1) is accepted.
//
// A valid member commit also counts as a heartbeat.
func (g *Group) CommitOffsets(now time.Time, req HeartbeatRequest) error {
	switch {
	case g.state == StateDead:
		return messages.ErrCoordinatorNotAvailable
	case g.isPending(req.MemberID):
		return messages.ErrUnknownMemberID
	case req.Generation < 0 && g.state == StateEmpty:
		return nil
	case g.state == StateCompletingRebalance:
		return messages.ErrRebalanceInProgress
	case req.MemberID == "" && req.Generation < 0:
		return nil
	}
	m, err := g.validateMember(req)
	if err != nil {
		return err
	}
	m.sessionDeadline = now.Add(m.sessionTimeout)
	return nil
}

func (g *Group) isPending(id string) bool {
	_, ok := g.pending[id]
	return ok
}

// Leave handles a LeaveGroup request. It returns one error per member (nil,
// UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID; all COORDINATOR_NOT_AVAILABLE
// for a Dead group) and the effects of the rebalance the departures cause.
func (g *Group) Leave(now time.Time, leaving []LeaveMember) ([]error, Effects) {
	g.begin()
	errs := make([]error, len(leaving))
	for i, lm := range leaving {
		errs[i] = g.leave(now, lm)
	}
	return errs, g.end()
}

func (g *Group) leave(now time.Time, lm LeaveMember) error {
	if g.state == StateDead {
		return messages.ErrCoordinatorNotAvailable
	}
	id := lm.MemberID
	if lm.GroupInstanceID != "" {
		cur, ok := g.instances[lm.GroupInstanceID]
		switch {
		case !ok:
			return messages.ErrUnknownMemberID
		case id != "" && id != cur:
			return messages.ErrFencedInstanceID
		}
		id = cur
	}
	if _, ok := g.pending[id]; ok {
		delete(g.pending, id)
		g.tryCompleteJoin(now)
		return nil
	}
	if _, ok := g.members[id]; !ok {
		return messages.ErrUnknownMemberID
	}
	g.removeMemberAndRebalance(now, id)
	return nil
}

// Tick handles the passage of time: KIP-394 member ids that were never
// used expire, members whose session expired are removed (starting a
// rebalance), a join phase past its deadline ends without the members that
// did not rejoin, and members that did not sync in time are removed.
func (g *Group) Tick(now time.Time) Effects {
	g.begin()
	if g.state == StateDead {
		return g.end()
	}
	pendingExpired := false
	for id, t := range g.pending {
		if !now.Before(t) {
			delete(g.pending, id)
			pendingExpired = true
		}
	}
	if pendingExpired {
		g.tryCompleteJoin(now)
	}
	for _, id := range append([]string(nil), g.order...) {
		m, ok := g.members[id]
		if ok && !g.keepAlive(m) && !now.Before(m.sessionDeadline) {
			g.removeMemberAndRebalance(now, id)
		}
	}
	if g.state == StatePreparingRebalance && !now.Before(g.joinDeadline) {
		g.joinDeadlinePassed(now)
	}
	if len(g.unsynced) > 0 && !now.Before(g.syncDeadline) {
		var late []string
		for _, id := range g.order {
			if g.unsynced[id] {
				late = append(late, id)
			}
		}
		clear(g.unsynced)
		for _, id := range late {
			g.removeMemberAndRebalance(now, id)
		}
	}
	return g.end()
}

// Delete marks an Empty group Dead and returns the tombstone to write, as
// DeleteGroups does. A group with members returns NON_EMPTY_GROUP; a Dead
// one GROUP_ID_NOT_FOUND. The caller also writes tombstones for the group's
// committed offsets.
func (g *Group) Delete(now time.Time) (Effects, error) {
	g.begin()
	switch g.state {
	case StateDead:
		return g.end(), messages.ErrGroupIDNotFound
	case StateEmpty:
	default:
		return g.end(), messages.ErrNonEmptyGroup
	}
	clear(g.pending)
	g.transition(now, StateDead)
	g.persist(nil)
	return g.end(), nil
}

// Unload marks the group Dead because this node no longer coordinates it
// (its __consumer_offsets partition moved). Every held response is answered
// with NOT_COORDINATOR so members look the coordinator up again.
func (g *Group) Unload(now time.Time) Effects {
	g.begin()
	for _, id := range g.order {
		m := g.members[id]
		g.failJoin(m, messages.ErrNotCoordinator)
		g.failSync(m, messages.ErrNotCoordinator)
	}
	g.storing = false
	clear(g.pending)
	clear(g.unsynced)
	g.transition(now, StateDead)
	return g.end()
}
