package controller

import (
	"errors"
	"log/slog"
	"time"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/controller"
)

// Defaults for the zero values of Config.
const (
	// DefaultRecheckInterval is how often the controller re-runs elections
	// without a trigger, to catch what a watch may have missed.
	DefaultRecheckInterval = 5 * time.Second
	// DefaultRetryMin and DefaultRetryMax bound the backoff after a failed
	// campaign, watch or election.
	DefaultRetryMin = 100 * time.Millisecond
	DefaultRetryMax = 5 * time.Second
)

// ErrInvalidConfig means a required Config field is missing.
var ErrInvalidConfig = errors.New("controller: invalid config")

// Config is what the controller actor needs.
type Config struct {
	// NodeID is this node's id.
	NodeID int32
	// Store is the metadata store the elections read and write; the
	// controller watches it for changes.
	Store cluster.Store
	// Membership provides the controller lock and the live members.
	Membership cluster.Membership
	// Controller runs the elections (cluster/controller).
	Controller *controller.Controller
	// LeaderBalanceInterval is how often the controller checks the
	// leader imbalance of every node and moves leaderships back to
	// preferred replicas (Kafka's leader.imbalance.check.interval with
	// auto.leader.rebalance.enable); 0 disables the check.
	LeaderBalanceInterval time.Duration
	// LeaderImbalancePercent is the share of a node's preferred
	// partitions that others may lead before the check moves them back
	// (leader.imbalance.per.broker.percentage); used as given.
	LeaderImbalancePercent int
	// ReplicaBalance, when its MaxMoves is above 0, turns on the
	// automatic replica balance: after each election pass the controller
	// plans (controller.PlanBalance) and starts reassignments that spread
	// the replicas over the live nodes not decommissioned, at most
	// MaxMoves in progress, once an imbalance has lasted Settle.
	ReplicaBalance controller.BalancePolicy
	// RecheckInterval, RetryMin and RetryMax: 0 means their defaults.
	RecheckInterval time.Duration
	RetryMin        time.Duration
	RetryMax        time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

func (c *Config) validate() error {
	switch {
	case c.Store == nil:
		return errors.Join(ErrInvalidConfig, errors.New("controller: Store is nil"))
	case c.Membership == nil:
		return errors.Join(ErrInvalidConfig, errors.New("controller: Membership is nil"))
	case c.Controller == nil:
		return errors.Join(ErrInvalidConfig, errors.New("controller: Controller is nil"))
	}
	return nil
}

func (c *Config) withDefaults() Config {
	out := *c
	if out.RecheckInterval <= 0 {
		out.RecheckInterval = DefaultRecheckInterval
	}
	if out.RetryMin <= 0 {
		out.RetryMin = DefaultRetryMin
	}
	if out.RetryMax <= 0 {
		out.RetryMax = DefaultRetryMax
	}
	if out.RetryMax < out.RetryMin {
		out.RetryMax = out.RetryMin
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	return out
}
