package broker

import (
	"time"

	"github.com/sluice-mq/sluice/replication"
)

// ReplicationConfig tunes how partition leaders replicate to their
// followers.
type ReplicationConfig struct {
	// ReplicaLagTime is replica.lag.time.max: an in-sync follower that has
	// not caught up with the leader for this long leaves the ISR.
	ReplicaLagTime time.Duration `yaml:"replica_lag_time"`
	// RetryInterval is how long a push may stay unacknowledged before the
	// leader resends, and how often a silent follower is probed.
	RetryInterval time.Duration `yaml:"retry_interval"`
	// ReassignmentThrottleBytes is Kafka's
	// leader.replication.throttled.rate: bytes per second this node's
	// leaders push, together, to followers outside the ISR (the replicas
	// a reassignment or the automatic balance adds, copying whole logs),
	// so a move does not take the disk and network from clients. In-sync
	// replication is never throttled. 0 means no limit.
	ReassignmentThrottleBytes int64 `yaml:"reassignment_throttle_bytes"`
}

// DefaultReassignmentThrottleBytes is 50 MiB/s per node.
const DefaultReassignmentThrottleBytes = 50 << 20

func (rc *ReplicationConfig) validate() error {
	if rc.ReplicaLagTime <= 0 || rc.RetryInterval <= 0 {
		return badConfig("replication.replica_lag_time and replication.retry_interval must be > 0")
	}
	if rc.RetryInterval > rc.ReplicaLagTime {
		return badConfig("replication.retry_interval %s must not exceed replication.replica_lag_time %s",
			rc.RetryInterval, rc.ReplicaLagTime)
	}
	if rc.ReassignmentThrottleBytes < 0 {
		return badConfig("replication.reassignment_throttle_bytes %d: must be >= 0 (0: no limit)", rc.ReassignmentThrottleBytes)
	}
	return nil
}

// replicationConfig is the leaders' replication tuning.
func (rc *ReplicationConfig) replicationConfig() replication.Config {
	return replication.Config{ReplicaLagTime: rc.ReplicaLagTime, RetryInterval: rc.RetryInterval}
}
