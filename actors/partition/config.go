package partition

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/replication"
	"github.com/sluice-mq/sluice/storage/cleaner"
	"github.com/sluice-mq/sluice/storage/commitlog"
	"github.com/sluice-mq/sluice/storage/producerstate"
)

// Config is what a replica actor needs besides its metadata state.
type Config struct {
	Topic     string
	Partition int32
	// NodeID is this node's id: the replica leads when State.Leader equals it.
	NodeID int32
	// Dir is the partition's log directory, <data>/<topic>-<partition>.
	Dir string
	// TopicConfig is the topic's effective configuration.
	TopicConfig metadata.TopicConfig
	// MaxRequestBytes caps max.message.bytes and every fetch response, so
	// no message exceeds what the transport accepts. 0 means no cap.
	MaxRequestBytes int
	// IndexIntervalBytes is the log's sparse index interval; 0 means the
	// commitlog default.
	IndexIntervalBytes int32
	// RetentionCheckInterval is how often retention and age-based roll run;
	// 0 means DefaultRetentionCheckInterval.
	RetentionCheckInterval time.Duration
	// Flusher is the node's group commit, shared by every log; nil makes
	// each interval-policy log start its own.
	Flusher *commitlog.Flusher
	// Opens bounds the replicas of the node opening their logs at once;
	// nil leaves them unbounded.
	Opens *OpenLimit
	// Opened, when set, is called at the end of every Started: the log
	// is open (or failed to open) and the first role taken.
	Opened func()
	// Cleaner is the node's log cleaner: the log of a compacted topic is
	// registered with it while open. Nil leaves logs uncompacted.
	Cleaner *cleaner.Cleaner
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Metrics and Gauges (the per-partition series) may be nil.
	Metrics *Metrics
	Gauges  *Gauges

	// Peer resolves the replica actor of the same partition on another
	// node: {node's remote address, messages.ReplicaActorID(topic,
	// partition)}; nil when the node is not known (not a live member).
	// It is called only from the replica's Receive. A nil Peer makes
	// every other replica unreachable (replication factor 1).
	Peer func(nodeID int32) *actor.PID
	// ShuttingDown reports whether a node is in controlled shutdown: a
	// leader does not add such a node to the ISR (the controller has
	// just dropped it). Nil means none is. Called from Receive only.
	ShuttingDown func(nodeID int32) bool
	// Store is the metadata store a leader writes ISR changes to, by
	// check-and-set of the partition state. Nil applies ISR changes in
	// memory only (single-process tests).
	Store cluster.Store
	// Replication tunes the leader's replication; MinInsyncReplicas is
	// taken from TopicConfig and MaxPushBytes is capped at
	// MaxRequestBytes.
	Replication replication.Config
	// Throttle, shared by the node's replicas, limits the bytes a leader
	// pushes to followers outside the ISR (catch-up of a replica being
	// added); nil means no limit. In-sync followers are never throttled.
	Throttle *replication.Throttle
	// ReplicationTick is how often the leader runs replication.Leader.OnTick
	// (lag checks, lost pushes, heartbeats); 0 means a quarter of the
	// replication retry interval.
	ReplicationTick time.Duration
	// MetadataTimeout bounds one ISR write to Store; 0 means
	// DefaultMetadataTimeout.
	MetadataTimeout time.Duration

	// Limits bound what a replica holds for its clients.
	Limits
	// LogOptions are added to the options the log is opened with (the
	// node's failure handler; tests: an injected slow or failing disk).
	LogOptions []commitlog.Option
	// Offline, when set, is the failure that took the node's log dir
	// offline: the replica starts without opening its log and answers
	// KAFKA_STORAGE_ERROR (see LogDirOffline).
	Offline error
}

// Limits bound what one replica holds for its clients; zero fields mean
// the defaults below.
type Limits struct {
	// MaxFetchWait caps a fetch's max_wait_ms: a fetch waits at most this
	// long for data. 0 means DefaultMaxFetchWait.
	MaxFetchWait time.Duration
	// MaxParkedFetches caps the long-poll fetches one replica holds; a
	// fetch beyond it is answered at once with what there is (possibly
	// nothing), as an expired wait would be. 0 means
	// DefaultMaxParkedFetches.
	MaxParkedFetches int
	// MaxPendingProduceBytes caps the record bytes of produce requests a
	// leader has appended but not yet answered (waiting for the fsync of
	// its flush policy or for the ISR). A produce arriving beyond it is
	// refused before the append with the retriable REQUEST_TIMED_OUT, so
	// producers back off and retry instead of piling up. A request is
	// always taken while nothing is pending. 0 means
	// DefaultMaxPendingProduceBytes.
	MaxPendingProduceBytes int64
	// ProducerIDExpiration is producer.id.expiration.ms: a producer id
	// with no open transaction is forgotten this long after its last
	// batch. 0 means producerstate.DefaultExpiration (1 day).
	ProducerIDExpiration time.Duration
	// MaxProducerIDs caps the producer ids one partition tracks for
	// idempotence; beyond it the least recently written one without an
	// open transaction is forgotten. 0 means
	// producerstate.DefaultMaxProducers.
	MaxProducerIDs int
}

// Defaults of the bounds on what a replica holds.
const (
	DefaultMaxFetchWait                 = 30 * time.Second
	DefaultMaxParkedFetches             = 1000
	DefaultMaxPendingProduceBytes int64 = 64 << 20
)

func (c *Config) maxFetchWait() time.Duration {
	if c.MaxFetchWait > 0 {
		return c.MaxFetchWait
	}
	return DefaultMaxFetchWait
}

func (c *Config) maxParkedFetches() int {
	if c.MaxParkedFetches > 0 {
		return c.MaxParkedFetches
	}
	return DefaultMaxParkedFetches
}

// producerConfig is the partition's producer state configuration.
func (c *Config) producerConfig() producerstate.Config {
	return producerstate.Config{Expiration: c.ProducerIDExpiration, MaxProducers: c.MaxProducerIDs}
}

func (c *Config) maxPendingProduceBytes() int64 {
	if c.MaxPendingProduceBytes > 0 {
		return c.MaxPendingProduceBytes
	}
	return DefaultMaxPendingProduceBytes
}

// DefaultMetadataTimeout bounds an ISR write when Config.MetadataTimeout
// is 0.
const DefaultMetadataTimeout = 10 * time.Second

// DefaultRetentionCheckInterval is the retention and roll period when
// Config.RetentionCheckInterval is 0.
const DefaultRetentionCheckInterval = 30 * time.Second

// State is the replica's view of its partition's metadata.
type State struct {
	// Leader is the node id of the leader, -1 when none.
	Leader      int32
	LeaderEpoch int32
	Replicas    []int32
	ISR         []int32
	// Version is the metadata store version the state was read at (0 when
	// unknown); a state older than one the replica has seen is ignored.
	Version uint64
}

// logConfig maps the topic configuration onto the commitlog's.
func (c *Config) logConfig() (commitlog.Config, error) {
	tc := c.TopicConfig
	policy, err := commitlog.ParseFlushPolicy(string(tc.FlushPolicy))
	if err != nil {
		return commitlog.Config{}, err
	}
	retention := tc.Retention
	if retention == 0 {
		// retention.ms=0 deletes everything closed; commitlog reads 0 as
		// its default, so ask for the shortest positive age instead.
		retention = time.Nanosecond
	}
	lc := commitlog.Config{
		SegmentBytes:       tc.SegmentBytes,
		SegmentAge:         tc.SegmentAge,
		RetentionAge:       retention,
		RetentionBytes:     tc.RetentionBytes,
		MaxBatchBytes:      int32(c.maxMessageBytes()),
		IndexIntervalBytes: c.IndexIntervalBytes,
		FlushPolicy:        policy,
		FlushInterval:      tc.FlushInterval,
	}
	if !tc.Deletes() {
		lc.RetentionAge, lc.RetentionBytes = -1, 0
	}
	if err := lc.Validate(); err != nil {
		return commitlog.Config{}, fmt.Errorf("partition %s/%d: %w", c.Topic, c.Partition, err)
	}
	return lc, nil
}

// cleanerPolicy maps the topic configuration onto the cleaner's.
func (c *Config) cleanerPolicy() cleaner.Policy {
	tc := c.TopicConfig
	return cleaner.Policy{
		MinCleanableRatio: tc.MinCleanableDirtyRatio,
		MinCompactionLag:  tc.MinCompactionLag,
		MaxCompactionLag:  tc.MaxCompactionLag,
		DeleteRetention:   tc.DeleteRetention,
		SegmentBytes:      tc.SegmentBytes,
	}
}

// maxMessageBytes is max.message.bytes capped by the transport limit.
func (c *Config) maxMessageBytes() int {
	n := int(c.TopicConfig.MaxMessageBytes)
	if n <= 0 {
		n = int(commitlog.DefaultMaxBatchBytes)
	}
	if c.MaxRequestBytes > 0 && n > c.MaxRequestBytes {
		n = c.MaxRequestBytes
	}
	return n
}

// maxFetchBytes caps one fetch response.
func (c *Config) maxFetchBytes() int {
	if c.MaxRequestBytes > 0 {
		return c.MaxRequestBytes
	}
	return 8 << 20
}

func (c *Config) retentionCheckInterval() time.Duration {
	if c.RetentionCheckInterval > 0 {
		return c.RetentionCheckInterval
	}
	return DefaultRetentionCheckInterval
}

// replicationConfig is the leader's replication tuning for the current
// topic configuration.
func (c *Config) replicationConfig() replication.Config {
	rc := c.Replication
	rc.MinInsyncReplicas = c.TopicConfig.MinInsyncReplicas
	if rc.MaxPushBytes <= 0 {
		rc.MaxPushBytes = replication.DefaultMaxPushBytes
	}
	if c.MaxRequestBytes > 0 && rc.MaxPushBytes > c.MaxRequestBytes {
		// A push carries at least one whole batch, which is at most
		// max.message.bytes <= MaxRequestBytes: it fits the transport.
		rc.MaxPushBytes = c.MaxRequestBytes
	}
	return rc
}

// retryInterval is the replication retry interval in effect.
func (c *Config) retryInterval() time.Duration {
	if c.Replication.RetryInterval > 0 {
		return c.Replication.RetryInterval
	}
	return replication.DefaultRetryInterval
}

func (c *Config) replicationTick() time.Duration {
	if c.ReplicationTick > 0 {
		return c.ReplicationTick
	}
	return max(c.retryInterval()/4, time.Millisecond)
}

func (c *Config) metadataTimeout() time.Duration {
	if c.MetadataTimeout > 0 {
		return c.MetadataTimeout
	}
	return DefaultMetadataTimeout
}

// shuttingDown reports whether nodeID is in controlled shutdown.
func (c *Config) shuttingDown(nodeID int32) bool {
	return c.ShuttingDown != nil && c.ShuttingDown(nodeID)
}

// peer resolves nodeID's replica, nil when unknown.
func (c *Config) peer(nodeID int32) *actor.PID {
	if c.Peer == nil {
		return nil
	}
	return c.Peer(nodeID)
}
