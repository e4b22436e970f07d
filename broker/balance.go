package broker

import (
	"time"

	"github.com/sluice-mq/sluice/cluster/controller"
)

// BalanceConfig is the controller's automatic replica balance: when a
// node joins (it holds fewer replicas than its share) or is
// decommissioned (`sluice node decommission N`), the controller plans
// the moves that even the replicas out and carries them out by
// reassignments, MaxMoves at a time.
type BalanceConfig struct {
	// Auto turns the automatic balance on.
	Auto bool `yaml:"auto"`
	// MaxMoves is how many reassignments may be in progress at once
	// (>= 1); each copies a partition's log to a new node.
	MaxMoves int `yaml:"max_moves"`
	// SettleDelay is how long an imbalance must last, with the same live
	// nodes, before the controller acts: a node that restarts or flaps
	// is not taken for a new one (> 0).
	SettleDelay time.Duration `yaml:"settle_delay"`
}

// Defaults of BalanceConfig.
const (
	DefaultBalanceMaxMoves    = 2
	DefaultBalanceSettleDelay = 30 * time.Second
)

func defaultBalanceConfig() BalanceConfig {
	return BalanceConfig{Auto: true, MaxMoves: DefaultBalanceMaxMoves, SettleDelay: DefaultBalanceSettleDelay}
}

func (c *Config) validateBalance() error {
	switch b := c.Balance; {
	case b.MaxMoves < 1:
		return badConfig("balance.max_moves %d: must be >= 1", b.MaxMoves)
	case b.SettleDelay <= 0:
		return badConfig("balance.settle_delay %s: must be > 0", b.SettleDelay)
	}
	return nil
}

// policy is the controller's balance policy; MaxMoves 0 (off) when Auto
// is off or the node runs alone.
func (b BalanceConfig) policy(clustered bool) controller.BalancePolicy {
	if !b.Auto || !clustered {
		return controller.BalancePolicy{}
	}
	return controller.BalancePolicy{MaxMoves: b.MaxMoves, Settle: b.SettleDelay}
}
