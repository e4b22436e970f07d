package group

import (
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// Join handles a JoinGroup request. The response is usually not in the
// returned Effects: a member's join response is held until the join phase
// ends, and then every member's response comes out of the call that ended
// it (a Join, Leave or Tick).
func (g *Group) Join(now time.Time, req JoinRequest) Effects {
	g.begin()
	if err := g.join(now, req); err != nil {
		g.respondJoin(JoinResponse{RequestID: req.RequestID, Err: err, Generation: -1, MemberID: req.MemberID})
	}
	return g.end()
}

func (g *Group) join(now time.Time, req JoinRequest) error {
	if g.state == StateDead {
		return messages.ErrCoordinatorNotAvailable
	}
	if req.SessionTimeout < g.cfg.MinSessionTimeout || req.SessionTimeout > g.cfg.MaxSessionTimeout {
		return messages.ErrInvalidSessionTimeout
	}
	if !g.supports(req.MemberID, req.ProtocolType, req.Protocols) {
		return messages.ErrInconsistentGroupProtocol
	}
	if req.MemberID == "" {
		return g.joinUnknown(now, req)
	}
	return g.joinKnown(now, req)
}

// joinUnknown handles a member joining without a member id.
func (g *Group) joinUnknown(now time.Time, req JoinRequest) error {
	if req.GroupInstanceID != "" {
		if old, ok := g.instances[req.GroupInstanceID]; ok {
			g.replaceStatic(now, req, old, g.cfg.NewMemberID(req.ClientID))
			return nil
		}
	}
	if g.cfg.MaxSize > 0 && len(g.members)+len(g.pending) >= g.cfg.MaxSize {
		return messages.ErrGroupMaxSizeReached
	}
	id := g.cfg.NewMemberID(req.ClientID)
	if req.GroupInstanceID != "" || req.MemberIDOptional {
		// KIP-345: a static member's identity is its instance id, so it
		// joins at once without the MEMBER_ID_REQUIRED round trip; so do
		// clients too old to know that round trip.
		g.addMemberAndRebalance(now, req, id)
		return nil
	}
	// KIP-394: hand out the id and wait for the member to come back with it,
	// so a client that never receives the response leaves no ghost member.
	g.pending[id] = now.Add(req.SessionTimeout)
	g.respondJoin(JoinResponse{RequestID: req.RequestID, Err: messages.ErrMemberIDRequired, Generation: -1, MemberID: id})
	return nil
}

// joinKnown handles a join from a member that has an id.
func (g *Group) joinKnown(now time.Time, req JoinRequest) error {
	if _, ok := g.pending[req.MemberID]; ok {
		delete(g.pending, req.MemberID)
		g.addMemberAndRebalance(now, req, req.MemberID)
		return nil
	}
	if g.fenced(req.MemberID, req.GroupInstanceID) {
		return messages.ErrFencedInstanceID
	}
	m, ok := g.members[req.MemberID]
	if !ok {
		return messages.ErrUnknownMemberID
	}
	switch g.state {
	case StatePreparingRebalance:
		g.updateMemberAndRebalance(now, m, req)
	case StateCompletingRebalance:
		if m.sameProtocols(req.Protocols) {
			// The member lost its join response; send it again.
			g.respondJoin(g.joinResponse(m, req.RequestID))
			return nil
		}
		g.updateMemberAndRebalance(now, m, req)
	case StateStable:
		if m.id == g.leader || !m.sameProtocols(req.Protocols) {
			// A leader rejoins to have the assignment computed again (for
			// example after a metadata change); anyone with new
			// subscriptions needs a new assignment too.
			g.updateMemberAndRebalance(now, m, req)
			return nil
		}
		r := g.joinResponse(m, req.RequestID)
		r.Members = nil
		g.respondJoin(r)
	default:
		return messages.ErrUnknownMemberID
	}
	return nil
}

// replaceStatic gives the static member known as oldID a new member id: a
// restarted instance takes over its identity and fences the old id (KIP-345).
func (g *Group) replaceStatic(now time.Time, req JoinRequest, oldID, newID string) {
	m := g.members[oldID]
	g.failJoin(m, messages.ErrFencedInstanceID)
	g.failSync(m, messages.ErrFencedInstanceID)
	delete(g.members, oldID)
	m.id = newID
	g.members[newID] = m
	for i, id := range g.order {
		if id == oldID {
			g.order[i] = newID
		}
	}
	g.instances[m.instanceID] = newID
	if g.leader == oldID {
		g.leader = newID
	}
	if g.unsynced[oldID] {
		delete(g.unsynced, oldID)
		g.unsynced[newID] = true
	}
	if g.assignments != nil {
		if a, ok := g.assignments[oldID]; ok {
			delete(g.assignments, oldID)
			g.assignments[newID] = a
		}
	}
	m.update(req)
	m.sessionDeadline = now.Add(m.sessionTimeout)
	if g.state == StateStable && g.selectProtocol() == g.protocol {
		// The group would choose the same protocol (Kafka's rule: the
		// member's metadata may differ, as a restarted consumer's owned
		// partitions do): persist the new id and let the member carry on
		// with its current generation and assignment.
		m.join = nil
		g.persist(g.snapshot(nil))
		r := g.joinResponse(m, req.RequestID)
		if m.id != g.leader {
			r.Members = nil
		}
		g.respondJoin(r)
		return
	}
	g.maybePrepareRebalance(now)
}

func (g *Group) addMemberAndRebalance(now time.Time, req JoinRequest, id string) {
	g.addMember(now, req, id)
	g.maybePrepareRebalance(now)
}

func (g *Group) updateMemberAndRebalance(now time.Time, m *member, req JoinRequest) {
	// A member that joins again before its previous join was answered
	// (a client retry) supersedes it.
	g.failJoin(m, messages.ErrRebalanceInProgress)
	m.update(req)
	g.maybePrepareRebalance(now)
}

// maybePrepareRebalance starts a join phase unless one is running, then
// checks whether it can end.
func (g *Group) maybePrepareRebalance(now time.Time) {
	switch g.state {
	case StateEmpty, StateStable, StateCompletingRebalance:
		g.prepareRebalance(now)
	case StatePreparingRebalance:
		g.tryCompleteJoin(now)
	}
}

// prepareRebalance starts a join phase. Members waiting for a sync response
// learn that their generation is over.
func (g *Group) prepareRebalance(now time.Time) {
	if g.state == StateCompletingRebalance {
		for _, id := range g.order {
			g.failSync(g.members[id], messages.ErrRebalanceInProgress)
		}
	}
	g.storing = false
	g.assignments = nil
	clear(g.unsynced)
	g.syncDeadline = time.Time{}
	timeout := g.maxRebalanceTimeout()
	if g.state == StateEmpty && g.cfg.InitialRebalanceDelay > 0 {
		delay := min(g.cfg.InitialRebalanceDelay, timeout)
		g.initialDelay = true
		g.newMemberAdded = false
		g.delayRemaining = max(timeout-delay, 0)
		g.joinDeadline = now.Add(delay)
		g.transition(now, StatePreparingRebalance)
		return
	}
	g.initialDelay = false
	g.joinDeadline = now.Add(timeout)
	g.transition(now, StatePreparingRebalance)
	g.tryCompleteJoin(now)
}

// tryCompleteJoin ends the join phase early once every member has rejoined
// and no KIP-394 member is still on its way. The initial delay never ends
// early: its purpose is to wait for members that are not known yet.
func (g *Group) tryCompleteJoin(now time.Time) {
	if g.state != StatePreparingRebalance || g.initialDelay || len(g.pending) > 0 {
		return
	}
	for _, m := range g.members {
		if m.join == nil {
			return
		}
	}
	g.completeJoin(now)
}

// joinDeadlinePassed runs when the join phase times out.
func (g *Group) joinDeadlinePassed(now time.Time) {
	if g.initialDelay && g.newMemberAdded && g.delayRemaining > 0 {
		delay := min(g.cfg.InitialRebalanceDelay, g.delayRemaining)
		g.delayRemaining -= delay
		g.newMemberAdded = false
		g.joinDeadline = now.Add(delay)
		return
	}
	g.initialDelay = false
	g.completeJoin(now)
}

// completeJoin ends the join phase: members that did not rejoin are
// removed, and the rest form the next generation.
func (g *Group) completeJoin(now time.Time) {
	for _, id := range append([]string(nil), g.order...) {
		if g.members[id].join == nil {
			g.removeMember(id)
		}
	}
	g.generation++
	if len(g.members) == 0 {
		g.protocol = ""
		g.transition(now, StateEmpty)
		g.persist(g.snapshot(nil))
		return
	}
	g.protocol = g.selectProtocol()
	g.transition(now, StateCompletingRebalance)
	g.syncDeadline = now.Add(g.maxRebalanceTimeout())
	for _, id := range g.order {
		m := g.members[id]
		m.sessionDeadline = now.Add(m.sessionTimeout)
		g.unsynced[id] = true
		r := g.joinResponse(m, *m.join)
		if id != g.leader {
			r.Members = nil
		}
		m.join = nil
		g.respondJoin(r)
	}
}

// joinResponse is the current generation as seen by m, with the member list
// the leader gets.
func (g *Group) joinResponse(m *member, rid RequestID) JoinResponse {
	r := JoinResponse{
		RequestID:    rid,
		Generation:   g.generation,
		ProtocolType: g.protocolType,
		ProtocolName: g.protocol,
		LeaderID:     g.leader,
		MemberID:     m.id,
	}
	if m.id == g.leader {
		r.Members = make([]JoinMember, 0, len(g.order))
		for _, id := range g.order {
			o := g.members[id]
			r.Members = append(r.Members, JoinMember{MemberID: o.id, GroupInstanceID: o.instanceID, Metadata: o.metadata(g.protocol)})
		}
	}
	return r
}
