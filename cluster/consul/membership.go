package consul

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/sluice-mq/sluice/cluster"
)

// Keys of the membership under the prefix.
const (
	nodesDir      = "nodes/"
	controllerKey = "controller"
)

// Errors returned by Membership besides the cluster sentinels.
var (
	// ErrNotJoined means the call needs a Join first.
	ErrNotJoined = errors.New("consul: membership not joined")
	// ErrAlreadyJoined means Join was called twice.
	ErrAlreadyJoined = errors.New("consul: membership already joined")
	// ErrInvalidMember means the member passed to Join cannot be
	// registered.
	ErrInvalidMember = errors.New("consul: invalid member")
	// ErrNodeKeyHeld means another session holds this node's key: another
	// process with the same node id, or a previous one whose session has
	// not expired yet.
	ErrNodeKeyHeld = errors.New("consul: node key held by another session")
)

// Status is the registration state of a joined Membership, for operators
// (`sluice cluster status`).
type Status struct {
	// Registered is true while the service, the session and the node key
	// are known to be in place.
	Registered bool
	// LastError is why the last attempt to register or refresh failed;
	// nil while Registered.
	LastError error
	// Since is when Registered last changed (or Join, if it never did).
	Since time.Time
}

// Membership is a cluster.Membership on Consul. Each joined node registers
// a service with a TTL check, holds a session bound to that check and
// acquires the node key nodes/<id> with it, so that the key vanishes when
// the node stops refreshing the check. The controller is the node whose
// session holds the controller key.
//
// A goroutine owned by the Membership refreshes the check and repairs the
// registration whenever the agent lost it (a dev agent restart loses
// everything): it re-registers the service, creates a new session and
// re-acquires the node key, retrying with backoff while Consul is down.
type Membership struct {
	conn *conn
	log  *slog.Logger

	// wg tracks the refresh goroutine and the lock watchers.
	wg sync.WaitGroup

	mu sync.Mutex // guards the following
	// self is the joined member; valid once joined.
	self   cluster.Member
	joined bool
	left   bool
	// stop ends the goroutines; set by Join, called by Leave.
	stop context.CancelFunc
	// running is done when the goroutines must end (Leave, or the Join
	// context).
	running context.Context
	// session is the current session, "" while there is none.
	session string
	// sessionChanged is closed and replaced whenever session changes.
	sessionChanged chan struct{}
	status         Status
}

var _ cluster.Membership = (*Membership)(nil)

// NewMembership returns a Membership for cfg. It does not contact Consul.
func NewMembership(cfg Config) (*Membership, error) {
	c, err := newConn(cfg)
	if err != nil {
		return nil, err
	}
	return &Membership{
		conn:           c,
		log:            c.cfg.Logger,
		sessionChanged: make(chan struct{}),
	}, nil
}

// Join registers self and keeps the registration alive and repaired until
// Leave or ctx is done. It makes one registration attempt before
// returning; if that fails because Consul is unreachable or the node key is
// still held by an expiring session, Join returns nil anyway and keeps
// retrying: Status reports the state. When ctx is done the registration is
// no longer refreshed and expires after CheckTTL, like a crashed node's;
// call Leave for a prompt departure.
func (m *Membership) Join(ctx context.Context, self cluster.Member) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if self.NodeID < 0 || self.Address == "" {
		return fmt.Errorf("%w: node id %d, address %q", ErrInvalidMember, self.NodeID, self.Address)
	}
	m.mu.Lock()
	switch {
	case m.left:
		m.mu.Unlock()
		return cluster.ErrClosed
	case m.joined:
		m.mu.Unlock()
		return ErrAlreadyJoined
	}
	m.joined = true
	m.self = self
	m.running, m.stop = context.WithCancel(ctx)
	m.status.Since = time.Now()
	running := m.running
	// Counted from here, so that a concurrent Leave waits for the first
	// refresh too.
	m.wg.Add(1)
	m.mu.Unlock()

	k := newKeeper(m, self)
	if err := k.refresh(running); running.Err() == nil {
		m.setStatus(err)
	}
	go k.run(running)
	return nil
}

// Leave stops the refresh goroutine and the lock watchers (closing the
// lost channels of Campaign), releases the controller lock if held,
// destroys the session (which deletes the node key) and deregisters the
// service. It returns the cleanup errors, if any; the goroutines are gone
// either way. Leave without Join just closes the Membership. Later calls
// return cluster.ErrClosed.
func (m *Membership) Leave(ctx context.Context) error {
	m.mu.Lock()
	switch {
	case m.left:
		m.mu.Unlock()
		return cluster.ErrClosed
	case !m.joined:
		m.left = true
		m.mu.Unlock()
		m.conn.shutdown()
		return nil
	}
	m.left = true
	m.stop()
	m.mu.Unlock()
	m.wg.Wait()

	m.mu.Lock()
	session, self := m.session, m.self
	m.mu.Unlock()
	var steps []func() error
	if session != "" {
		steps = append(steps,
			func() error { return m.release(ctx, session) },
			func() error {
				return m.conn.do(ctx, "destroy session", m.conn.cfg.Timeout, func(ctx context.Context) error {
					_, err := m.conn.client.Session().Destroy(session, (&api.WriteOptions{}).WithContext(ctx))
					return err
				})
			})
	}
	steps = append(steps, func() error {
		return m.conn.do(ctx, "deregister service", m.conn.cfg.Timeout, func(ctx context.Context) error {
			err := m.conn.client.Agent().ServiceDeregisterOpts(serviceID(m.conn.cfg, self.NodeID), (&api.QueryOptions{}).WithContext(ctx))
			var status api.StatusError
			if errors.As(err, &status) && status.Code == http.StatusNotFound {
				return nil // already gone: the agent lost it, or it was never registered
			}
			return err
		})
	})
	var err error
	for _, step := range steps {
		// Once Consul is unreachable the later steps would only wait out
		// their timeouts too; the session then ends with its check.
		if err = errors.Join(err, step()); errors.Is(err, cluster.ErrUnavailable) || ctx.Err() != nil {
			break
		}
	}
	m.setSession("")
	m.mu.Lock()
	m.status = Status{LastError: cluster.ErrClosed, Since: time.Now()}
	m.mu.Unlock()
	m.log.Info("consul: node left", "node_id", self.NodeID)
	m.conn.shutdown()
	return err
}

// Close is Leave bounded by the configured Timeout; closing a Membership
// that already left does nothing.
func (m *Membership) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.conn.cfg.Timeout)
	defer cancel()
	if err := m.Leave(ctx); err != nil && !errors.Is(err, cluster.ErrClosed) {
		return err
	}
	return nil
}

// Status reports the registration state.
func (m *Membership) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// Members returns the live members (node keys held by a session) sorted by
// NodeID, and the index for WatchMembers. It needs no Join.
func (m *Membership) Members(ctx context.Context) ([]cluster.Member, uint64, error) {
	pairs, index, err := m.conn.list(ctx, m.conn.cfg.Prefix+nodesDir)
	if err != nil {
		return nil, 0, err
	}
	return m.members(pairs), index, nil
}

// WatchMembers blocks until the node keys change after index (or the wait
// time passes, or ctx is done) and returns the live members and new index.
func (m *Membership) WatchMembers(ctx context.Context, index uint64) ([]cluster.Member, uint64, error) {
	pairs, index, err := m.conn.watch(ctx, m.conn.cfg.Prefix+nodesDir, index, m.conn.cfg.WaitTime)
	if err != nil {
		return nil, 0, err
	}
	return m.members(pairs), index, nil
}

// members decodes the held node keys. A key that does not decode is
// skipped (and logged): one bad key must not hide the rest of the cluster.
func (m *Membership) members(pairs api.KVPairs) []cluster.Member {
	members := make([]cluster.Member, 0, len(pairs))
	for _, p := range pairs {
		if p.Session == "" {
			continue
		}
		var member cluster.Member
		if err := json.Unmarshal(p.Value, &member); err != nil {
			m.log.Warn("consul: skipping undecodable node key", "key", p.Key, "error", err)
			continue
		}
		members = append(members, member)
	}
	sort.Slice(members, func(i, j int) bool { return members[i].NodeID < members[j].NodeID })
	return members
}

// setStatus records the outcome of a refresh.
func (m *Membership) setStatus(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	registered := err == nil
	if registered != m.status.Registered {
		m.status.Since = time.Now()
		if registered {
			m.log.Info("consul: node registered", "node_id", m.self.NodeID)
		} else {
			m.log.Warn("consul: node registration lost", "node_id", m.self.NodeID, "error", err)
		}
	}
	m.status.Registered = registered
	m.status.LastError = err
}

// setSession records the current session and wakes Campaign.
func (m *Membership) setSession(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id == m.session {
		return
	}
	m.session = id
	close(m.sessionChanged)
	m.sessionChanged = make(chan struct{})
}

func serviceID(cfg Config, node int32) string {
	return cfg.ServiceName + "-" + strconv.Itoa(int(node))
}

func checkID(cfg Config, node int32) string {
	return "service:" + serviceID(cfg, node)
}

func nodeKey(cfg Config, node int32) string {
	return cfg.Prefix + nodesDir + strconv.Itoa(int(node))
}
