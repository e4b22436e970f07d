package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/consul"
	"github.com/sluice-mq/sluice/cluster/metadata"
)

// ConsulConfig puts the node in a cluster whose metadata, membership and
// controller lock live in Consul (DESIGN.md §6). With an empty Address the
// node runs alone: metadata in <data>/metadata, itself the only member and
// the controller.
type ConsulConfig struct {
	// Address is the host:port (or http(s) URL) of the Consul agent's HTTP
	// API, normally the agent on the node's own host. Empty means
	// single-node mode.
	Address string `yaml:"address"`
	// Prefix roots the cluster's keys in Consul KV. Clusters sharing a
	// Consul datacenter use distinct prefixes and service names.
	Prefix string `yaml:"prefix"`
	// ServiceName is the Consul service every node registers as (node n's
	// service ID is <service_name>-<n>).
	ServiceName string `yaml:"service_name"`
	// CheckTTL is the TTL of the node's health check: a node that stops
	// refreshing it (crashed, hung, cut off) leaves the membership after
	// this long, and its partitions get new leaders. >= 1s.
	CheckTTL time.Duration `yaml:"check_ttl"`
	// LockDelay is how long keys held by a departed node's session (its
	// node key, the controller lock) cannot be taken by another session.
	LockDelay time.Duration `yaml:"lock_delay"`
	// StartTimeout is how long a starting node waits for the Consul agent
	// to answer (an agent starting next to it, or restarting) before it
	// gives up (Kafka's zookeeper.connection.timeout.ms).
	StartTimeout time.Duration `yaml:"start_timeout"`
}

// Cluster-mode defaults.
const (
	DefaultConsulPrefix      = consul.DefaultPrefix
	DefaultConsulServiceName = consul.DefaultServiceName
	DefaultConsulCheckTTL    = consul.DefaultCheckTTL
	DefaultConsulLockDelay   = consul.DefaultLockDelay
	DefaultConsulStartWait   = 30 * time.Second
)

// Clustered reports whether the node runs in a Consul cluster.
func (c *Config) Clustered() bool { return c.Consul.Address != "" }

// validateCluster checks the settings cluster mode needs: a Consul
// address Consul accepts, and an address other nodes can reach this one
// at (a listener on every interface needs an explicit advertise address).
func (c *Config) validateCluster() error {
	cc := &c.Consul
	if cc.Address == "" {
		return nil
	}
	if c.Advertise == "" {
		host, _, err := net.SplitHostPort(c.Listen)
		if ip := net.ParseIP(host); err == nil && (host == "" || ip != nil && ip.IsUnspecified()) {
			return badConfig("cluster mode: listen %q is not an address other nodes can reach; set advertise", c.Listen)
		}
	}
	if cc.StartTimeout < 0 {
		return badConfig("consul.start_timeout %s: must be >= 0", cc.StartTimeout)
	}
	if !strings.Contains(cc.Address, "://") {
		if err := checkHostPort("consul.address", cc.Address, false); err != nil {
			return err
		}
	}
	if err := cc.consulConfig(nil).Validate(); err != nil {
		return fmt.Errorf("%w: consul: %v", ErrInvalidConfig, err)
	}
	return nil
}

// consulConfig is the cluster/consul configuration of cc.
func (cc *ConsulConfig) consulConfig(logger *slog.Logger) consul.Config {
	return consul.Config{
		Address:     cc.Address,
		Prefix:      cc.Prefix,
		ServiceName: cc.ServiceName,
		CheckTTL:    cc.CheckTTL,
		LockDelay:   cc.LockDelay,
		Logger:      logger,
	}
}

// ErrNodeIDInUse means another live node of the cluster registered the
// node id this node was configured with.
var ErrNodeIDInUse = errors.New("broker: node id already in use")

// nodeIDWaitSlack is added to the check TTL and lock-delay when waiting
// for the registration of a previous process of this node to expire.
const (
	nodeIDWaitSlack    = 2 * time.Second
	nodeIDPollInterval = 200 * time.Millisecond
)

// openConsul connects the node to Consul: the metadata store and the
// membership, both owned by the server.
func (s *Server) openConsul() error {
	ccfg := s.cfg.Consul.consulConfig(s.logger)
	st, err := consul.NewStore(ccfg)
	if err != nil {
		return fmt.Errorf("broker: consul store: %w", err)
	}
	m, err := consul.NewMembership(ccfg)
	if err != nil {
		_ = st.Close()
		return fmt.Errorf("broker: consul membership: %w", err)
	}
	s.store, s.ownStore = st, true
	s.membership = m
	return nil
}

// Backoff of waitForStore between attempts.
const (
	storeWaitFirst = 100 * time.Millisecond
	storeWaitMax   = 2 * time.Second
)

// waitForStore waits, for at most consul.start_timeout, until the metadata
// store answers: a node started next to its Consul agent (or while the
// agent restarts) starts once the agent is up instead of exiting. Errors
// other than an unreachable store are left to the caller's first request.
func (s *Server) waitForStore(ctx context.Context) error {
	deadline := time.Now().Add(s.cfg.Consul.StartTimeout)
	wait := storeWaitFirst
	for logged := false; ; logged = true {
		_, err := metadata.ClusterID(ctx, s.store)
		if !errors.Is(err, cluster.ErrUnavailable) {
			return nil
		}
		if time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("broker: the Consul agent at %s did not answer for %s (consul.start_timeout): %w",
				s.cfg.Consul.Address, s.cfg.Consul.StartTimeout, err)
		}
		if !logged {
			s.logger.Info("waiting for the Consul agent", "consul", s.cfg.Consul.Address, "timeout", s.cfg.Consul.StartTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, storeWaitMax)
	}
}

// checkNodeIDFree fails when a live member holds self's node id under
// another address. A member with the same id and address is a previous
// process of this node (the address is bound by this process now); one
// with another address may be a previous process too, restarted on a new
// port, whose registration expires within the check TTL and lock-delay:
// that long is waited for before giving up.
func checkNodeIDFree(ctx context.Context, m cluster.Membership, self cluster.Member, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		members, _, err := m.Members(ctx)
		if err != nil {
			return fmt.Errorf("broker: read cluster members: %w", err)
		}
		other, found := cluster.Member{}, false
		for _, mb := range members {
			if mb.NodeID == self.NodeID && mb.Address != self.Address {
				other, found = mb, true
			}
		}
		if !found {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: node id %d is registered by the node at %s; give every node a unique --node-id",
				ErrNodeIDInUse, self.NodeID, other.Address)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(nodeIDPollInterval):
		}
	}
}

// MembershipStatus is the node's registration in the cluster, for
// /healthz and /cluster.
type MembershipStatus struct {
	// Registered is true while the node is a member (always true on a
	// single node).
	Registered bool `json:"registered"`
	// Problem says why it is not, or what failed last ("" when fine).
	Problem string `json:"problem,omitempty"`
	// Since is when Registered last changed (zero on a single node).
	Since time.Time `json:"since,omitzero"`
}

// MembershipStatus reports the node's registration: the Consul
// membership's own status in cluster mode.
func (s *Server) MembershipStatus() MembershipStatus {
	reporter, ok := s.membership.(interface{ Status() consul.Status })
	if !ok {
		return MembershipStatus{Registered: true}
	}
	st := reporter.Status()
	out := MembershipStatus{Registered: st.Registered, Since: st.Since}
	if st.LastError != nil {
		out.Problem = st.LastError.Error()
	}
	return out
}
