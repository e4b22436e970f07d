package consul

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/sluice-mq/sluice/cluster"
)

const (
	// deregisterCriticalAfter lets the agent drop the service of a node
	// that stopped refreshing its check; one minute is Consul's minimum.
	deregisterCriticalAfter = "1m"
	// serfHealthCheck is the agent's own node check; sessions bound to it
	// end when the agent's node fails.
	serfHealthCheck = "serfHealth"
	// maxRetryInterval caps the backoff between failed refreshes (as does
	// the heartbeat), so a node re-registers within seconds once Consul is
	// back.
	maxRetryInterval = 2 * time.Second
)

// keeper owns one joined node's registration: the service and its TTL
// check, the session and the node key. Only its goroutine touches its
// fields (refresh also runs once in Join, before the goroutine starts).
type keeper struct {
	m         *Membership
	conn      *conn
	cfg       Config
	self      cluster.Member
	value     []byte // the node key's value: self as JSON
	serviceID string
	checkID   string
	nodeKey   string

	// registered is whether the service is believed registered.
	registered bool
	// session is the session that holds (or is to hold) the node key.
	session string
}

func newKeeper(m *Membership, self cluster.Member) *keeper {
	cfg := m.conn.cfg
	value, _ := json.Marshal(self) // a struct of ints and strings always encodes
	return &keeper{
		m:         m,
		conn:      m.conn,
		cfg:       cfg,
		self:      self,
		value:     value,
		serviceID: serviceID(cfg, self.NodeID),
		checkID:   checkID(cfg, self.NodeID),
		nodeKey:   nodeKey(cfg, self.NodeID),
	}
}

// run refreshes the registration every CheckTTL/3 and, after a failure,
// retries with backoff, until ctx is done (Leave or the Join context).
func (k *keeper) run(ctx context.Context) {
	defer k.m.wg.Done()
	heartbeat := k.cfg.CheckTTL / 3
	minRetry := heartbeat / 4
	retry := minRetry
	timer := time.NewTimer(heartbeat)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done(): // Leave, or the Join context: stop refreshing
			return
		case <-timer.C: // refresh the check and repair what is missing
		}
		err := k.refresh(ctx)
		if ctx.Err() != nil {
			return
		}
		k.m.setStatus(err)
		next := heartbeat
		if err != nil {
			next = retry
			retry = min(2*retry, maxRetryInterval, heartbeat)
		} else {
			retry = minRetry
		}
		timer.Reset(next)
	}
}

// refresh passes the TTL check and makes sure the node key is held by the
// current session, repairing whatever the agent lost.
func (k *keeper) refresh(ctx context.Context) error {
	if err := k.passCheck(ctx); err != nil {
		return err
	}
	pair, _, err := k.conn.get(ctx, k.nodeKey)
	if err != nil {
		return err
	}
	if k.session != "" && pair != nil && pair.Session == k.session {
		return nil
	}
	return k.repair(ctx, pair)
}

// passCheck sets the TTL check to passing, registering the service first
// when the agent does not know it (first run, or the agent lost its state).
func (k *keeper) passCheck(ctx context.Context) error {
	if !k.registered {
		return k.register(ctx)
	}
	err := k.conn.do(ctx, "update check", k.cfg.Timeout, func(ctx context.Context) error {
		return k.conn.client.Agent().UpdateTTLOpts(k.checkID, "", api.HealthPassing, (&api.QueryOptions{}).WithContext(ctx))
	})
	if err == nil || errors.Is(err, cluster.ErrUnavailable) || ctx.Err() != nil {
		return err
	}
	// The agent answered but rejected the update: it does not know the
	// check any more.
	k.m.log.Warn("consul: agent lost the node's check; registering again", "service_id", k.serviceID, "error", err)
	k.registered = false
	return k.register(ctx)
}

// register registers the service with a passing TTL check (a session can
// only be bound to a passing check).
func (k *keeper) register(ctx context.Context) error {
	host, port := k.self.Address, 0
	if h, p, err := net.SplitHostPort(k.self.Address); err == nil {
		if n, err := strconv.Atoi(p); err == nil {
			host, port = h, n
		}
	}
	reg := &api.AgentServiceRegistration{
		ID:      k.serviceID,
		Name:    k.cfg.ServiceName,
		Address: host,
		Port:    port,
		Meta: map[string]string{
			"node_id":       strconv.Itoa(int(k.self.NodeID)),
			"address":       k.self.Address,
			"http_address":  k.self.HTTPAddress,
			"kafka_address": k.self.KafkaAddress,
		},
		Check: &api.AgentServiceCheck{
			CheckID:                        k.checkID,
			Name:                           "node heartbeat",
			TTL:                            k.cfg.CheckTTL.String(),
			Status:                         api.HealthPassing,
			DeregisterCriticalServiceAfter: deregisterCriticalAfter,
		},
	}
	err := k.conn.do(ctx, "register service", k.cfg.Timeout, func(ctx context.Context) error {
		opts := api.ServiceRegisterOpts{ReplaceExistingChecks: true}.WithContext(ctx)
		return k.conn.client.Agent().ServiceRegisterOpts(reg, opts)
	})
	if err != nil {
		return err
	}
	k.registered = true
	k.m.log.Info("consul: service registered", "service_id", k.serviceID)
	return nil
}

// repair makes the current session hold the node key: it replaces a
// session Consul no longer knows, clears a stale session of this node's own
// previous process, and acquires the key. pair is the node key as read.
func (k *keeper) repair(ctx context.Context, pair *api.KVPair) error {
	if k.session != "" {
		alive, err := k.sessionAlive(ctx, k.session)
		if err != nil {
			return err
		}
		if !alive {
			k.session = ""
			k.m.setSession("")
		}
	}
	if k.session == "" {
		id, err := k.createSession(ctx)
		if err != nil {
			return err
		}
		k.session = id
		k.m.setSession(id)
		k.m.log.Info("consul: session created", "service_id", k.serviceID, "session", id)
	}
	if pair != nil && pair.Session != "" && pair.Session != k.session {
		if err := k.clearStale(ctx, pair.Session); err != nil {
			return err
		}
	}
	var acquired bool
	err := k.conn.do(ctx, "acquire node key", k.cfg.Timeout, func(ctx context.Context) error {
		var err error
		acquired, _, err = k.conn.client.KV().Acquire(&api.KVPair{Key: k.nodeKey, Value: k.value, Session: k.session},
			(&api.WriteOptions{}).WithContext(ctx))
		return err
	})
	switch {
	case err != nil:
		return err
	case acquired:
		return nil
	case pair != nil && pair.Session != "" && pair.Session != k.session:
		return fmt.Errorf("%w: %s held by session %s", ErrNodeKeyHeld, k.nodeKey, pair.Session)
	default:
		return fmt.Errorf("consul: acquire %s refused: lock-delay of an ended session", k.nodeKey)
	}
}

func (k *keeper) sessionAlive(ctx context.Context, id string) (bool, error) {
	entry, err := k.sessionInfo(ctx, id)
	return entry != nil, err
}

func (k *keeper) sessionInfo(ctx context.Context, id string) (*api.SessionEntry, error) {
	var entry *api.SessionEntry
	err := k.conn.do(ctx, "session info", k.cfg.Timeout, func(ctx context.Context) error {
		var err error
		entry, _, err = k.conn.client.Session().Info(id, (&api.QueryOptions{}).WithContext(ctx))
		return err
	})
	return entry, err
}

// createSession creates a session bound to the agent's node health and
// the node's TTL check, which deletes its keys when it ends.
func (k *keeper) createSession(ctx context.Context) (string, error) {
	entry := &api.SessionEntry{
		Name:          k.serviceID,
		Behavior:      api.SessionBehaviorDelete,
		LockDelay:     k.cfg.LockDelay,
		NodeChecks:    []string{serfHealthCheck},
		ServiceChecks: []api.ServiceCheck{{ID: k.checkID}},
	}
	var id string
	err := k.conn.do(ctx, "create session", k.cfg.Timeout, func(ctx context.Context) error {
		var err error
		id, _, err = k.conn.client.Session().Create(entry, (&api.WriteOptions{}).WithContext(ctx))
		return err
	})
	return id, err
}

// clearStale destroys session id if it is bound to this node's check on
// this agent: it belongs to a previous process of this node, and since
// this process now keeps the check passing it would never end by itself.
// A session on another agent is left to expire.
func (k *keeper) clearStale(ctx context.Context, id string) error {
	other, err := k.sessionInfo(ctx, id)
	if err != nil || other == nil {
		return err
	}
	ours, err := k.sessionInfo(ctx, k.session)
	if err != nil || ours == nil || ours.Node != other.Node || !boundTo(other, k.checkID) {
		return err
	}
	return k.conn.do(ctx, "destroy stale session", k.cfg.Timeout, func(ctx context.Context) error {
		_, err := k.conn.client.Session().Destroy(id, (&api.WriteOptions{}).WithContext(ctx))
		return err
	})
}

// boundTo reports whether the session is bound to the check.
func boundTo(s *api.SessionEntry, check string) bool {
	for _, c := range s.ServiceChecks {
		if c.ID == check {
			return true
		}
	}
	for _, c := range s.Checks {
		if c == check {
			return true
		}
	}
	return false
}
