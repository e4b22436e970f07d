package local

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sluice-mq/sluice/cluster"
)

// ErrNotJoined means Leave was called on a membership that had not joined.
var ErrNotJoined = errors.New("local: membership not joined")

// Membership is the cluster.Membership of a single node: the node is the
// only member once it has joined, and it always holds the controller lock.
type Membership struct {
	self     cluster.Member
	waitTime time.Duration

	mu sync.Mutex // guards the following
	// index counts membership changes (joins and leaves).
	index  uint64
	joined bool
	// lost is handed out by Campaign and closed (then cleared) by Leave.
	lost chan struct{}
	// changed is closed and replaced on every change, waking watchers.
	changed chan struct{}
}

var _ cluster.Membership = (*Membership)(nil)

// MembershipOption configures a Membership.
type MembershipOption func(*Membership)

// WithMembershipWaitTime sets how long WatchMembers blocks without a change.
// Zero or negative means DefaultWaitTime.
func WithMembershipWaitTime(d time.Duration) MembershipOption {
	return func(m *Membership) {
		if d > 0 {
			m.waitTime = d
		}
	}
}

// NewMembership returns the membership of the single node self.
func NewMembership(self cluster.Member, opts ...MembershipOption) *Membership {
	m := &Membership{self: self, waitTime: DefaultWaitTime, changed: make(chan struct{})}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Join makes self the only member. A self with a different NodeID than the
// one given to NewMembership replaces it (its addresses may have changed).
func (m *Membership) Join(ctx context.Context, self cluster.Member) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.joined && m.self == self {
		return nil
	}
	m.self = self
	m.joined = true
	m.changeLocked()
	return nil
}

// Leave removes self and closes the channel returned by Campaign.
func (m *Membership) Leave(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.joined {
		return ErrNotJoined
	}
	m.joined = false
	if m.lost != nil {
		close(m.lost)
		m.lost = nil
	}
	m.changeLocked()
	return nil
}

func (m *Membership) changeLocked() {
	m.index++
	close(m.changed)
	m.changed = make(chan struct{})
}

func (m *Membership) membersLocked() []cluster.Member {
	if !m.joined {
		return []cluster.Member{}
	}
	return []cluster.Member{m.self}
}

// Members returns self once joined (an empty list before), and the index.
func (m *Membership) Members(ctx context.Context) ([]cluster.Member, uint64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.membersLocked(), m.index, nil
}

// WatchMembers blocks until a join or leave after index, the wait time, or
// ctx done. Index 0 returns at once.
func (m *Membership) WatchMembers(ctx context.Context, index uint64) ([]cluster.Member, uint64, error) {
	timer := time.NewTimer(m.waitTime)
	defer timer.Stop()
	for {
		m.mu.Lock()
		if index == 0 || m.index != index {
			members, current := m.membersLocked(), m.index
			m.mu.Unlock()
			return members, current, nil
		}
		changed := m.changed
		m.mu.Unlock()
		select {
		case <-changed: // re-check
		case <-timer.C: // wait time over: the unchanged list
			members, current, err := m.Members(context.Background())
			return members, current, err
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
}

// Campaign returns at once: the single node is always the controller. The
// returned channel is closed by Leave.
func (m *Membership) Campaign(ctx context.Context) (<-chan struct{}, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.lost == nil {
		m.lost = make(chan struct{})
	}
	return m.lost, nil
}

// Controller returns self's node id: a single node is its own controller.
func (m *Membership) Controller(ctx context.Context) (int32, error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.self.NodeID, nil
}
