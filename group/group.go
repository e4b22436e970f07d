package group

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"slices"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// Group is the coordinator's state machine for one consumer group. It does
// no I/O, starts no goroutines and never reads the clock: every input carries
// the current time, and every output is returned as Effects for the caller
// (the group actor) to carry out. It is not safe for concurrent use.
type Group struct {
	id    string
	cfg   Config
	state State
	// stateTime is when state last changed (Kafka's currentStateTimestamp).
	stateTime    time.Time
	generation   int32
	protocolType string
	protocol     string // "" unless the group has a generation with members
	leader       string // "" iff members is empty

	members map[string]*member
	// order lists member ids in join order; leadership passes along it.
	// Invariant: same ids as members.
	order     []string
	instances map[string]string // group instance id → member id

	// pending holds member ids handed out with MEMBER_ID_REQUIRED and the
	// time by which the member must join with it (KIP-394).
	pending map[string]time.Time

	// Join phase (PreparingRebalance).
	joinDeadline time.Time
	// initialDelay marks the first join phase of an empty group, which runs
	// for InitialRebalanceDelay slices instead of ending early.
	initialDelay   bool
	delayRemaining time.Duration
	newMemberAdded bool

	// Sync phase: members of the current generation that have not sent
	// SyncGroup yet must do so by syncDeadline or are removed.
	unsynced     map[string]bool
	syncDeadline time.Time
	// storing is set while the leader's assignment is being persisted;
	// Invariant: storing implies state == StateCompletingRebalance.
	storing     bool
	assignments map[string][]byte

	fx Effects // effects of the call in progress
}

type member struct {
	id, instanceID   string
	clientID, host   string
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	protocols        []Protocol
	assignment       []byte
	join             *RequestID // pending JoinGroup, answered when the join phase ends
	sync             *RequestID // pending SyncGroup, answered when the leader's assignment is stored
	sessionDeadline  time.Time
}

// New returns an empty group at generation 0.
func New(groupID string, cfg Config) (*Group, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.NewMemberID == nil {
		cfg.NewMemberID = randomMemberID
	}
	return &Group{
		id:        groupID,
		cfg:       cfg,
		members:   make(map[string]*member),
		instances: make(map[string]string),
		pending:   make(map[string]time.Time),
		unsynced:  make(map[string]bool),
	}, nil
}

func randomMemberID(clientID string) string {
	return clientID + "-" + rand.Text()
}

// ID returns the group id.
func (g *Group) ID() string { return g.id }

// State returns the current state.
func (g *Group) State() State { return g.state }

// Generation returns the current generation: 0 for a new group, incremented
// each time a join phase completes.
func (g *Group) Generation() int32 { return g.generation }

// Leader returns the leader's member id, or "" when the group has no members.
func (g *Group) Leader() string { return g.leader }

// Protocol returns the protocol chosen for the current generation.
func (g *Group) Protocol() string { return g.protocol }

// Size returns the number of members.
func (g *Group) Size() int { return len(g.members) }

// Deadline returns when Tick must next be called; zero means never. Callers
// need it after Load; every other input returns it in Effects.
func (g *Group) Deadline() time.Time { return g.deadline() }

// begin starts collecting the effects of one call.
func (g *Group) begin() { g.fx = Effects{} }

// end returns the collected effects with the next deadline.
func (g *Group) end() Effects {
	fx := g.fx
	g.fx = Effects{}
	fx.Deadline = g.deadline()
	return fx
}

// deadline is the earliest time at which Tick has work to do.
func (g *Group) deadline() time.Time {
	var d time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	for _, t := range g.pending {
		earliest(t)
	}
	for _, m := range g.members {
		if !g.keepAlive(m) {
			earliest(m.sessionDeadline)
		}
	}
	if g.state == StatePreparingRebalance {
		earliest(g.joinDeadline)
	}
	if len(g.unsynced) > 0 {
		earliest(g.syncDeadline)
	}
	return d
}

// keepAlive reports whether m's session is suspended: a member waiting for
// its join response is bounded by the join phase instead, and one waiting
// for its sync response by the sync phase.
func (g *Group) keepAlive(m *member) bool {
	return m.join != nil || m.sync != nil
}

func (g *Group) transition(now time.Time, s State) {
	g.state = s
	g.stateTime = now
}

func (g *Group) respondJoin(r JoinResponse) { g.fx.Joins = append(g.fx.Joins, r) }
func (g *Group) respondSync(r SyncResponse) { g.fx.Syncs = append(g.fx.Syncs, r) }

func (g *Group) failJoin(m *member, err error) {
	if m.join != nil {
		g.respondJoin(JoinResponse{RequestID: *m.join, Err: err, Generation: -1, MemberID: m.id})
		m.join = nil
	}
}

func (g *Group) failSync(m *member, err error) {
	if m.sync != nil {
		g.respondSync(SyncResponse{RequestID: *m.sync, Err: err})
		m.sync = nil
	}
}

// fenced reports whether instanceID belongs to a member other than memberID.
func (g *Group) fenced(memberID, instanceID string) bool {
	if instanceID == "" {
		return false
	}
	id, ok := g.instances[instanceID]
	return ok && id != memberID
}

// addMember adds a new member awaiting its join response.
func (g *Group) addMember(now time.Time, req JoinRequest, id string) *member {
	m := &member{id: id, instanceID: req.GroupInstanceID}
	m.update(req)
	if len(g.members) == 0 {
		g.protocolType = req.ProtocolType
	}
	g.members[id] = m
	g.order = append(g.order, id)
	if m.instanceID != "" {
		g.instances[m.instanceID] = id
	}
	if g.leader == "" {
		g.leader = id
	}
	if g.state == StatePreparingRebalance && g.initialDelay {
		g.newMemberAdded = true
	}
	m.sessionDeadline = now.Add(m.sessionTimeout)
	return m
}

func (m *member) update(req JoinRequest) {
	m.clientID = req.ClientID
	m.host = req.ClientHost
	m.sessionTimeout = req.SessionTimeout
	m.rebalanceTimeout = req.RebalanceTimeout
	if m.rebalanceTimeout <= 0 {
		m.rebalanceTimeout = req.SessionTimeout
	}
	m.protocols = slices.Clone(req.Protocols)
	rid := req.RequestID
	m.join = &rid
}

// sameProtocols reports whether ps equals m's protocols, names, order and
// metadata alike.
func (m *member) sameProtocols(ps []Protocol) bool {
	return slices.EqualFunc(m.protocols, ps, func(a, b Protocol) bool {
		return a.Name == b.Name && bytes.Equal(a.Metadata, b.Metadata)
	})
}

func (m *member) metadata(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

// removeMember drops id from the group, passing leadership on if needed.
// Responses still pending for it must have been answered already.
func (g *Group) removeMember(id string) {
	m, ok := g.members[id]
	if !ok {
		return
	}
	delete(g.members, id)
	delete(g.unsynced, id)
	if m.instanceID != "" && g.instances[m.instanceID] == id {
		delete(g.instances, m.instanceID)
	}
	g.order = slices.DeleteFunc(g.order, func(s string) bool { return s == id })
	if g.leader == id {
		g.leader = ""
		if len(g.order) > 0 {
			g.leader = g.order[0]
		}
	}
}

// removeMemberAndRebalance removes a member that left or timed out and
// starts (or advances) a rebalance for the ones that remain.
func (g *Group) removeMemberAndRebalance(now time.Time, id string) {
	m := g.members[id]
	g.failJoin(m, messages.ErrUnknownMemberID)
	g.failSync(m, messages.ErrUnknownMemberID)
	g.removeMember(id)
	switch g.state {
	case StateStable, StateCompletingRebalance:
		g.prepareRebalance(now)
	case StatePreparingRebalance:
		g.tryCompleteJoin(now)
	}
}

// maxRebalanceTimeout is how long a join phase waits: the largest rebalance
// timeout among members.
func (g *Group) maxRebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		d = max(d, m.rebalanceTimeout)
	}
	return d
}

// supports reports whether a member with these protocols may join: it must
// use the group's protocol type and share a protocol with every other member.
func (g *Group) supports(self, protocolType string, ps []Protocol) bool {
	if protocolType == "" || len(ps) == 0 {
		return false
	}
	others := 0
	for id := range g.members {
		if id != self {
			others++
		}
	}
	if others == 0 {
		return true
	}
	if protocolType != g.protocolType {
		return false
	}
	for _, p := range ps {
		if g.supportedByOthers(self, p.Name) {
			return true
		}
	}
	return false
}

func (g *Group) supportedByOthers(self, name string) bool {
	for id, m := range g.members {
		if id != self && !m.hasProtocol(name) {
			return false
		}
	}
	return true
}

func (m *member) hasProtocol(name string) bool {
	return slices.ContainsFunc(m.protocols, func(p Protocol) bool { return p.Name == name })
}

// selectProtocol picks the protocol for the next generation as Kafka does:
// among the protocols every member supports, each member votes for the one
// it prefers most, and the most votes win. Ties go to the candidate the
// leader prefers, so the choice is deterministic.
func (g *Group) selectProtocol() string {
	var candidates []string
	if l, ok := g.members[g.leader]; ok {
		for _, p := range l.protocols {
			if g.supportedByOthers("", p.Name) {
				candidates = append(candidates, p.Name)
			}
		}
	}
	if len(candidates) == 0 {
		return ""
	}
	votes := make(map[string]int)
	for _, m := range g.members {
		for _, p := range m.protocols {
			if slices.Contains(candidates, p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best := candidates[0]
	for _, c := range candidates[1:] {
		if votes[c] > votes[best] {
			best = c
		}
	}
	return best
}

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
