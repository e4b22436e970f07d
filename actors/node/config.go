package node

import (
	"errors"
	"log/slog"
	"time"

	"github.com/sluice-mq/sluice/actors/group"
	"github.com/sluice-mq/sluice/actors/partition"
	"github.com/sluice-mq/sluice/actors/txn"
	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/controller"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/replication"
	"github.com/sluice-mq/sluice/storage/cleaner"
	"github.com/sluice-mq/sluice/storage/commitlog"
	"github.com/sluice-mq/sluice/storage/vfs"
)

// Config is what the node guardian owns and injects into its replicas.
type Config struct {
	// Self is this node as members and clients see it (id and advertised
	// addresses).
	Self cluster.Member
	// DataDir holds one directory per hosted partition,
	// <data>/<topic>-<partition>.
	DataDir string
	// Store and Membership are the metadata authority: cluster/local for a
	// single node, Consul for a cluster. The caller owns and closes them.
	Store      cluster.Store
	Membership cluster.Membership
	// Controller carries out admin requests when this node is the
	// controller; nil builds one over Store and Membership.
	Controller *controller.Controller
	// Initial is the metadata snapshot to start from (loaded by the caller
	// so replicas exist before the node serves requests); the zero value
	// makes the node wait for its first watch.
	Initial metadata.Snapshot
	// TopicDefaults are the broker defaults topic configs override.
	TopicDefaults metadata.TopicConfig
	// MaxRequestBytes caps produce batches and fetch responses (see
	// partition.Config).
	MaxRequestBytes int
	// IndexIntervalBytes and RetentionCheckInterval are passed to every
	// replica (0 means their defaults).
	IndexIntervalBytes     int32
	RetentionCheckInterval time.Duration
	// Readiness, when set, is where the node publishes whether it can
	// serve (for /healthz).
	Readiness *Readiness
	// Limits are passed to every replica (see partition.Limits).
	Limits partition.Limits
	// AdminTimeout bounds one admin request against the store; 0 means
	// DefaultAdminTimeout.
	AdminTimeout time.Duration
	// Flusher is the node's group commit shared by every log; nil lets
	// each interval-policy log run its own.
	Flusher *commitlog.Flusher
	// Cleaner is the node's log cleaner, handed to every replica; nil
	// leaves compacted topics uncompacted.
	Cleaner *cleaner.Cleaner
	// Replication tunes the leaders' replication to their followers (see
	// partition.Config.Replication); the zero value means its defaults.
	Replication replication.Config
	// Groups configures the consumer group coordinators the node hosts
	// (actors/group); the zero value means their defaults.
	Groups group.Config
	// Txns configures the transaction coordinators the node hosts
	// (actors/txn); the zero value means their defaults.
	Txns txn.Config
	// Directory receives the live members' addresses, for replicas to
	// reach their peers and for the caller to report them; nil makes the
	// node keep its own.
	Directory *Directory
	// ControllerPollInterval is how often the holder of the controller
	// lock is read (0 means DefaultControllerPollInterval);
	// ControllerRecheckInterval is the controller loop's periodic election
	// pass (0 means actors/controller's default).
	ControllerPollInterval    time.Duration
	ControllerRecheckInterval time.Duration
	// LeaderBalanceInterval and LeaderImbalancePercent configure the
	// controller's automatic leader balance (actors/controller.Config);
	// an interval of 0 disables it.
	LeaderBalanceInterval  time.Duration
	LeaderImbalancePercent int
	// ReplicationThrottle limits, node-wide, the bytes this node's
	// leaders push to followers outside the ISR (a reassignment's new
	// replicas); nil means no limit.
	ReplicationThrottle *replication.Throttle
	// ReplicaBalance configures the controller's automatic replica
	// balance (actors/controller.Config); MaxMoves 0 disables it.
	ReplicaBalance controller.BalancePolicy
	// Logger defaults to slog.Default(); Metrics and Gauges (the
	// per-partition series) may be nil.
	Logger  *slog.Logger
	Metrics *partition.Metrics
	Gauges  *partition.Gauges
	// FileDeleteDelay is how long a deleted replica's directory, renamed
	// <dir>.<topic id>-delete, stays before it is removed (Kafka's
	// file.delete.delay.ms); 0 means DefaultFileDeleteDelay.
	FileDeleteDelay time.Duration
	// KeptDirs, when set, is given the number of partition directories
	// kept without a replica because no delete of them is recorded (a
	// prometheus.Gauge fits).
	KeptDirs interface{ Set(float64) }
	// ProducerIDBlockSize is how many producer ids one claim in the store
	// takes (0 means producerid.DefaultBlockSize).
	ProducerIDBlockSize int64
	// LogDirs, when set, is where the node publishes its offline log dir
	// (see LogDirs); nil makes the node keep its own.
	LogDirs *LogDirs
	// LogFS is the file layer of every replica's log; nil means the
	// operating system. Tests put a vfs.Faulty here to fail writes,
	// fsyncs and renames.
	LogFS vfs.FS
}

// DefaultAdminTimeout bounds admin requests when Config.AdminTimeout is 0.
const DefaultAdminTimeout = 30 * time.Second

// ErrInvalidConfig means a required Config field is missing.
var ErrInvalidConfig = errors.New("node: invalid config")

func (c *Config) validate() error {
	switch {
	case c.Store == nil:
		return errors.Join(ErrInvalidConfig, errors.New("node: Store is nil"))
	case c.Membership == nil:
		return errors.Join(ErrInvalidConfig, errors.New("node: Membership is nil"))
	case c.DataDir == "":
		return errors.Join(ErrInvalidConfig, errors.New("node: DataDir is empty"))
	}
	return nil
}

func (c *Config) adminTimeout() time.Duration {
	if c.AdminTimeout > 0 {
		return c.AdminTimeout
	}
	return DefaultAdminTimeout
}
