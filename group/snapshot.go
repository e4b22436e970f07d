package group

import (
	"fmt"
	"time"
)

// Snapshot returns the group as its metadata record: what Persist writes
// and Load reads back.
func (g *Group) Snapshot() *Metadata {
	return g.snapshot(nil)
}

func (g *Group) snapshot(assignments map[string][]byte) *Metadata {
	md := &Metadata{
		ProtocolType:   g.protocolType,
		Generation:     g.generation,
		Protocol:       g.protocol,
		Leader:         g.leader,
		StateTimestamp: -1,
	}
	if !g.stateTime.IsZero() {
		md.StateTimestamp = g.stateTime.UnixMilli()
	}
	for _, id := range g.order {
		m := g.members[id]
		a := m.assignment
		if assignments != nil {
			a = assignments[id]
		}
		md.Members = append(md.Members, MemberMetadata{
			MemberID:         m.id,
			InstanceID:       m.instanceID,
			ClientID:         m.clientID,
			ClientHost:       m.host,
			RebalanceTimeout: m.rebalanceTimeout,
			SessionTimeout:   m.sessionTimeout,
			Subscription:     m.metadata(g.protocol),
			Assignment:       a,
		})
	}
	return md
}

func (g *Group) persist(md *Metadata) {
	g.fx.Persist = &Persist{Group: g.id, Generation: g.generation, Metadata: md}
}

// Load restores a group from its last metadata record, as a coordinator does
// when it takes over the group's __consumer_offsets partition. A group with
// members comes back Stable at the stored generation, each member's session
// starting at now; without members it is Empty. Load returns ErrNotFresh
// unless g is new (Empty at generation 0), and does nothing for a nil md
// (a tombstone).
func (g *Group) Load(now time.Time, md *Metadata) error {
	if g.state != StateEmpty || g.generation != 0 || len(g.members) > 0 || len(g.pending) > 0 {
		return ErrNotFresh
	}
	if md == nil {
		return nil
	}
	if err := validLoad(md); err != nil {
		return fmt.Errorf("load group %q: %w", g.id, err)
	}
	g.protocolType = md.ProtocolType
	g.generation = md.Generation
	g.stateTime = now
	if len(md.Members) == 0 {
		return nil
	}
	g.protocol = md.Protocol
	for _, mm := range md.Members {
		m := &member{
			id:               mm.MemberID,
			instanceID:       mm.InstanceID,
			clientID:         mm.ClientID,
			host:             mm.ClientHost,
			sessionTimeout:   mm.SessionTimeout,
			rebalanceTimeout: mm.RebalanceTimeout,
			protocols:        []Protocol{{Name: md.Protocol, Metadata: mm.Subscription}},
			assignment:       mm.Assignment,
			sessionDeadline:  now.Add(mm.SessionTimeout),
		}
		if m.rebalanceTimeout <= 0 {
			m.rebalanceTimeout = m.sessionTimeout
		}
		g.members[m.id] = m
		g.order = append(g.order, m.id)
		if m.instanceID != "" {
			g.instances[m.instanceID] = m.id
		}
	}
	g.leader = md.Leader
	if _, ok := g.members[g.leader]; !ok {
		g.leader = g.order[0]
	}
	g.state = StateStable
	return nil
}

// validLoad rejects records no coordinator writes: members without a
// protocol, and member or instance ids that are empty or repeated.
func validLoad(md *Metadata) error {
	if len(md.Members) > 0 && md.Protocol == "" {
		return fmt.Errorf("%w: members but no protocol", ErrInvalidRecord)
	}
	ids := make(map[string]bool, len(md.Members))
	instances := make(map[string]bool)
	for _, mm := range md.Members {
		if mm.MemberID == "" || ids[mm.MemberID] {
			return fmt.Errorf("%w: member id %q empty or repeated", ErrInvalidRecord, mm.MemberID)
		}
		ids[mm.MemberID] = true
		if mm.InstanceID != "" {
			if instances[mm.InstanceID] {
				return fmt.Errorf("%w: instance id %q repeated", ErrInvalidRecord, mm.InstanceID)
			}
			instances[mm.InstanceID] = true
		}
	}
	return nil
}
