package group

import (
	"bytes"
	"crypto/rand"
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
