package replication

import (
	"errors"
	"fmt"
	"time"
)

// Defaults for the zero fields of Config.
const (
	DefaultReplicaLagTime    = 30 * time.Second
	DefaultRetryInterval     = time.Second
	DefaultMaxPushBytes      = 1 << 20
	DefaultMaxInflightBytes  = 4 << 20
	DefaultMaxInflightPushes = 64
)

// ErrInvalidConfig is wrapped by Config.Validate.
var ErrInvalidConfig = errors.New("replication: invalid config")

// Config tunes a Leader. The zero value is usable: every zero field takes
// its default.
type Config struct {
	// MinInsyncReplicas is the topic's min.insync.replicas: acks=all
	// produces are refused while the ISR (leader included) is smaller.
	// 0 means 1.
	MinInsyncReplicas int
	// ReplicaLagTime is replica.lag.time.max: an in-sync follower that has
	// not caught up to the leader's log end offset for this long is removed
	// from the ISR. 0 means DefaultReplicaLagTime.
	ReplicaLagTime time.Duration
	// RetryInterval is how long a push may stay unacknowledged before the
	// leader assumes it lost and resends from the follower's last known log
	// end offset, and how often a follower that has not answered in this
	// epoch is probed. 0 means DefaultRetryInterval.
	RetryInterval time.Duration
	// MaxPushBytes caps the records of one push; it must stay below what
	// the transport accepts in one message. 0 means DefaultMaxPushBytes.
	MaxPushBytes int
	// MaxInflightBytes is the credit window per follower: no push is issued
	// while this many bytes are unacknowledged. A push may overshoot it by
	// less than one batch, because a read returns at least one whole batch.
	// 0 means DefaultMaxInflightBytes.
	MaxInflightBytes int64
	// MaxInflightPushes caps the unacknowledged pushes per follower.
	// 0 means DefaultMaxInflightPushes.
	MaxInflightPushes int
}

// DefaultConfig returns the configuration the zero value stands for.
func DefaultConfig() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	if c.MinInsyncReplicas == 0 {
		c.MinInsyncReplicas = 1
	}
	if c.ReplicaLagTime == 0 {
		c.ReplicaLagTime = DefaultReplicaLagTime
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = DefaultRetryInterval
	}
	if c.MaxPushBytes == 0 {
		c.MaxPushBytes = DefaultMaxPushBytes
	}
	if c.MaxInflightBytes == 0 {
		c.MaxInflightBytes = DefaultMaxInflightBytes
	}
	if c.MaxInflightPushes == 0 {
		c.MaxInflightPushes = DefaultMaxInflightPushes
	}
	return c
}

// Validate reports a negative field; zero fields are valid (defaults).
func (c Config) Validate() error {
	switch {
	case c.MinInsyncReplicas < 0:
		return fmt.Errorf("%w: min insync replicas %d", ErrInvalidConfig, c.MinInsyncReplicas)
	case c.ReplicaLagTime < 0:
		return fmt.Errorf("%w: replica lag time %v", ErrInvalidConfig, c.ReplicaLagTime)
	case c.RetryInterval < 0:
		return fmt.Errorf("%w: retry interval %v", ErrInvalidConfig, c.RetryInterval)
	case c.MaxPushBytes < 0:
		return fmt.Errorf("%w: max push bytes %d", ErrInvalidConfig, c.MaxPushBytes)
	case c.MaxInflightBytes < 0:
		return fmt.Errorf("%w: max in-flight bytes %d", ErrInvalidConfig, c.MaxInflightBytes)
	case c.MaxInflightPushes < 0:
		return fmt.Errorf("%w: max in-flight pushes %d", ErrInvalidConfig, c.MaxInflightPushes)
	}
	return nil
}
