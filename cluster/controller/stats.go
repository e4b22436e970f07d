package controller

import (
	"slices"
	"sync/atomic"

	"github.com/sluice-mq/sluice/cluster/metadata"
)

// Stats counts what a Controller's elections did, for /metrics. The
// gauges (Offline, Topics, Partitions) are as of the last ElectLeaders
// pass; they mean something only while the node is the active controller
// (Active, set by the controller actor).
type Stats struct {
	// Active is true while this node holds the controller role.
	Active atomic.Bool
	// Elections counts partitions given a new leader; Unclean those whose
	// new leader was not in the ISR (unclean.leader.election.enable);
	// WentOffline those left with no leader.
	Elections   atomic.Int64
	Unclean     atomic.Int64
	WentOffline atomic.Int64
	// Preferred counts the elections that moved leadership back to a
	// partition's preferred replica (requested or by BalanceLeaders);
	// they are among Elections too.
	Preferred atomic.Int64
	// Offline is the number of partitions with no leader; Topics and
	// Partitions count the cluster's topics and partitions.
	Offline    atomic.Int64
	Topics     atomic.Int64
	Partitions atomic.Int64
}

// Stats returns the Controller's counters.
func (c *Controller) Stats() *Stats { return &c.stats }

// countChange classifies a state change electOne wrote.
func (s *Stats) countChange(old, next metadata.PartitionState) {
	switch {
	case next.Leader < 0 && old.Leader >= 0:
		s.WentOffline.Add(1)
	case next.Leader >= 0 && next.Leader != old.Leader:
		s.Elections.Add(1)
		if !slices.Contains(old.ISR, next.Leader) {
			s.Unclean.Add(1)
		}
	}
}
