package broker

import (
	"context"
	"errors"
	"time"

	"github.com/sluice-mq/sluice/actors/node"
	"github.com/sluice-mq/sluice/cluster/controller"
	"github.com/sluice-mq/sluice/cluster/metadata"
)

// LeadersConfig says where partition leadership goes besides failover:
// back to the preferred replicas, and off a node that is told to stop.
type LeadersConfig struct {
	// AutoRebalance is Kafka's auto.leader.rebalance.enable: every
	// ImbalanceCheckInterval the controller moves leaderships back to
	// their preferred replica (the first of the assignment) on each node
	// where others lead more than ImbalancePercent of the partitions it
	// is preferred for.
	AutoRebalance bool `yaml:"auto_rebalance"`
	// ImbalanceCheckInterval is leader.imbalance.check.interval (> 0).
	ImbalanceCheckInterval time.Duration `yaml:"imbalance_check_interval"`
	// ImbalancePercent is leader.imbalance.per.broker.percentage, 0-100.
	ImbalancePercent int `yaml:"imbalance_percent"`
	// ControlledShutdown is controlled.shutdown.enable: on SIGTERM a
	// clustered node first has the controller move its leaderships to
	// other in-sync replicas and drop it from the ISRs, waiting at most
	// ControlledShutdownTimeout (and half of shutdown_timeout), then stops.
	ControlledShutdown        bool          `yaml:"controlled_shutdown"`
	ControlledShutdownTimeout time.Duration `yaml:"controlled_shutdown_timeout"`
}

// Defaults of LeadersConfig (Kafka's check interval is 300 s).
const (
	DefaultImbalanceCheckInterval    = 5 * time.Minute
	DefaultControlledShutdownTimeout = 10 * time.Second
)

func defaultLeadersConfig() LeadersConfig {
	return LeadersConfig{
		AutoRebalance:             true,
		ImbalanceCheckInterval:    DefaultImbalanceCheckInterval,
		ImbalancePercent:          controller.DefaultImbalancePercent,
		ControlledShutdown:        true,
		ControlledShutdownTimeout: DefaultControlledShutdownTimeout,
	}
}

func (c *Config) validateLeaders() error {
	l := c.Leaders
	switch {
	case l.ImbalanceCheckInterval <= 0:
		return badConfig("leaders.imbalance_check_interval %s: must be > 0", l.ImbalanceCheckInterval)
	case l.ImbalancePercent < 0 || l.ImbalancePercent > 100:
		return badConfig("leaders.imbalance_percent %d: must be in [0, 100]", l.ImbalancePercent)
	case l.ControlledShutdownTimeout <= 0:
		return badConfig("leaders.controlled_shutdown_timeout %s: must be > 0", l.ControlledShutdownTimeout)
	}
	return nil
}

// balanceInterval is the controller's leader balance interval; 0 when
// automatic rebalance is off.
func (l LeadersConfig) balanceInterval() time.Duration {
	if !l.AutoRebalance {
		return 0
	}
	return l.ImbalanceCheckInterval
}

// controlledShutdown moves this node's leaderships away before it stops,
// when it is clustered and the option is on; a timeout or failure is
// logged and the shutdown goes on.
func (s *Server) controlledShutdown(ctx context.Context) {
	if !s.cfg.Clustered() || !s.cfg.Leaders.ControlledShutdown || s.guardian == nil {
		return
	}
	// At most half of what the whole shutdown may take: the drain after
	// it needs the rest.
	timeout := min(s.cfg.Leaders.ControlledShutdownTimeout, s.cfg.ShutdownTimeout/2)
	if d, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(d)/2)
	}
	start := time.Now()
	if err := node.ControlledShutdown(s.system, s.guardian, timeout); err != nil {
		s.logger.Warn("controlled shutdown did not complete; stopping anyway", "error", err)
		return
	}
	s.logger.Info("controlled shutdown complete", "took", time.Since(start).Round(time.Millisecond))
}

// clearShutdownRecord removes the node's controlled-shutdown record: at
// start (a record left by the last run must not keep the controller from
// electing the node) and once the node has left the cluster.
func (s *Server) clearShutdownRecord(ctx context.Context) error {
	if err := metadata.ClearShuttingDown(ctx, s.store, s.cfg.NodeID); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
