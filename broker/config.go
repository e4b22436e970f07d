package broker

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/sluice-mq/sluice/actors/node"
	"github.com/sluice-mq/sluice/actors/partition"
	"github.com/sluice-mq/sluice/cluster/controller"
	"github.com/sluice-mq/sluice/cluster/metadata"
	kafkaserver "github.com/sluice-mq/sluice/kafka/server"
	"github.com/sluice-mq/sluice/kafka/wire"
	"github.com/sluice-mq/sluice/replication"
	"github.com/sluice-mq/sluice/storage/commitlog"
	"github.com/sluice-mq/sluice/storage/producerstate"
)

// ErrInvalidConfig is wrapped by every error Validate returns.
var ErrInvalidConfig = errors.New("broker: invalid config")

// Config is everything a node needs to start. Zero values are not defaults:
// start from DefaultConfig, then LoadFile and flags override it.
type Config struct {
	// NodeID identifies the node in metadata; unique in a cluster, >= 0.
	NodeID int32 `yaml:"node_id"`
	// DataDir holds one directory per hosted partition and metadata/.
	DataDir string `yaml:"data_dir"`
	// RecoverMetadata rebuilds lost metadata (an empty store) from the
	// replicas in DataDir before starting (cluster/recovery). A one-off
	// step: set by the --recover-metadata flag only.
	RecoverMetadata bool `yaml:"-"`
	// FaultInjection serves POST /test/faults on the admin HTTP server,
	// which makes log writes, fsyncs or renames fail: a test hook, set by
	// the hidden --test-fault-injection flag only. Never in production.
	FaultInjection bool `yaml:"-"`
	// Listen is the host:port of the actor remote (gRPC). Port 0 picks a
	// free port.
	Listen string `yaml:"listen"`
	// Advertise is the host:port other nodes and clients use to reach the
	// remote. Empty means Listen (with the bound port when Listen's is 0).
	Advertise string `yaml:"advertise"`
	// HTTP is the host:port of the admin HTTP server (/healthz, /metrics).
	// Empty disables it.
	HTTP string `yaml:"http"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// MaxRequestBytes bounds the records of one produce request and one
	// fetch response (see the package doc on transport sizing).
	MaxRequestBytes int `yaml:"max_request_bytes"`
	// ShutdownTimeout bounds the graceful drain on SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Remote tunes the protoactor remote.
	Remote RemoteConfig `yaml:"remote"`
	// Log holds the defaults of every topic's log; topic configs override
	// them per topic.
	Log LogConfig `yaml:"log"`
	// Cleaner tunes the log cleaner (compaction).
	Cleaner CleanerConfig `yaml:"cleaner"`
	// Replication tunes leaders' replication to followers.
	Replication ReplicationConfig `yaml:"replication"`
	// Limits bound what each partition holds for its clients.
	Limits LimitsConfig `yaml:"limits"`
	// Leaders: automatic leader balance and controlled shutdown.
	Leaders LeadersConfig `yaml:"leaders"`
	// Balance: automatic replica balance when nodes join or leave.
	Balance BalanceConfig `yaml:"balance"`
	// Consul puts the node in a cluster (see ConsulConfig); an empty
	// address runs it alone.
	Consul ConsulConfig `yaml:"consul"`
	// Kafka is the Kafka protocol listener (see KafkaConfig).
	Kafka KafkaConfig `yaml:"kafka"`
	// GC tunes the Go garbage collector (see GCConfig).
	GC GCConfig `yaml:"gc"`
}

// RemoteConfig tunes protoactor's gRPC remote.
type RemoteConfig struct {
	// WriterBatchSize is how many messages the remote packs into one gRPC
	// message. WriterBatchSize × MaxRequestBytes must stay below
	// MaxRecvMsgBytes.
	WriterBatchSize int `yaml:"writer_batch_size"`
	// MaxRecvMsgBytes is the gRPC server's receive limit per gRPC message.
	MaxRecvMsgBytes int `yaml:"max_recv_msg_bytes"`
	// KeepaliveTime is how often an idle connection is pinged; a peer that
	// does not answer within KeepaliveTimeout is declared dead. grpc-go
	// raises client pings below 10 s to 10 s.
	KeepaliveTime    time.Duration `yaml:"keepalive_time"`
	KeepaliveTimeout time.Duration `yaml:"keepalive_timeout"`
	// ConnectRetries is how many times a connection to a peer is attempted
	// (2 s apart) before messages to it are dead-lettered; >= 1.
	ConnectRetries int `yaml:"connect_retries"`
}

// LogConfig holds log settings that topics inherit unless their own config
// (retention.ms, segment.bytes, ...) overrides them.
type LogConfig struct {
	// SegmentBytes rolls the active segment at this size (segment.bytes).
	SegmentBytes int64 `yaml:"segment_bytes"`
	// SegmentAge rolls a non-empty active segment this old (segment.ms).
	SegmentAge time.Duration `yaml:"segment_age"`
	// RetentionAge deletes segments whose newest record is older
	// (retention.ms); 0 or negative keeps them forever.
	RetentionAge time.Duration `yaml:"retention_age"`
	// RetentionBytes deletes the oldest segments while the log is larger
	// (retention.bytes); 0 or negative means no size limit.
	RetentionBytes int64 `yaml:"retention_bytes"`
	// MaxMessageBytes is the largest record batch a produce may carry
	// (max.message.bytes); at most MaxRequestBytes.
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// IndexIntervalBytes is the log bytes between sparse index entries.
	IndexIntervalBytes int `yaml:"index_interval_bytes"`
	// FlushPolicy is never (rely on the page cache and replication),
	// interval (group commit: one fsync per FlushInterval across every
	// partition of the node) or always (fsync before acknowledging).
	FlushPolicy string `yaml:"flush_policy"`
	// FlushInterval is the group-commit window of the interval policy.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// RetentionCheckInterval is how often each partition applies retention
	// and age-based segment roll.
	RetentionCheckInterval time.Duration `yaml:"retention_check_interval"`
	// CheckpointInterval is how often every log's recovery point (and
	// high watermark and log start) is checkpointed while the node runs
	// (Kafka's log.flush.offset.checkpoint.interval.ms): crash recovery
	// verifies only what was written after the last checkpoint.
	CheckpointInterval time.Duration `yaml:"checkpoint_interval"`
	// FileDeleteDelay is how long a deleted replica's directory, renamed
	// <dir>.<topic id>-delete, stays on disk before it is removed
	// (Kafka's file.delete.delay.ms): a mistaken delete can be undone by
	// renaming it back (with the node stopped) within that time.
	FileDeleteDelay time.Duration `yaml:"file_delete_delay"`
}

// LimitsConfig bounds what one partition replica holds, so that clients
// faster than the disk or thousands of long polls cannot grow the node's
// memory without limit.
type LimitsConfig struct {
	// FetchMaxWait caps the max_wait_ms of a fetch.
	FetchMaxWait time.Duration `yaml:"fetch_max_wait"`
	// MaxParkedFetches caps the long-poll fetches waiting on one
	// partition; more are answered at once with what there is.
	MaxParkedFetches int `yaml:"max_parked_fetches"`
	// MaxPendingProduceBytes caps the record bytes of produce requests a
	// partition leader has appended but not answered yet (waiting for an
	// fsync or the ISR); more are refused with the retriable
	// REQUEST_TIMED_OUT until it drains.
	MaxPendingProduceBytes int64 `yaml:"max_pending_produce_bytes"`
	// ProducerIDExpiration is Kafka's producer.id.expiration.ms: a
	// partition forgets an idempotent producer id with no open
	// transaction this long after its last batch (its next batch is then
	// taken at any sequence).
	ProducerIDExpiration time.Duration `yaml:"producer_id_expiration"`
	// MaxProducerIDs caps the producer ids one partition tracks; beyond
	// it the least recently written one without an open transaction is
	// forgotten.
	MaxProducerIDs int `yaml:"max_producer_ids"`
	// MaxPartitionsPerTopic caps the partitions of one topic; a create
	// or add-partitions over it is refused (INVALID_PARTITIONS) before
	// anything is written.
	MaxPartitionsPerTopic int `yaml:"max_partitions_per_topic"`
	// MaxPartitionsPerNode caps the partition replicas the controller
	// assigns to one node over all topics.
	MaxPartitionsPerNode int `yaml:"max_partitions_per_node"`
}

// Defaults of a node with no flags and no config file.
const (
	DefaultNodeID          = 1
	DefaultDataDir         = "./data"
	DefaultListen          = "127.0.0.1:9650"
	DefaultHTTP            = "127.0.0.1:9651"
	DefaultMaxRequestBytes = 8 << 20
)

// DefaultConfig returns the configuration of `sluiced` with no flags.
func DefaultConfig() Config {
	return Config{
		NodeID:          DefaultNodeID,
		DataDir:         DefaultDataDir,
		Listen:          DefaultListen,
		HTTP:            DefaultHTTP,
		LogLevel:        "info",
		MaxRequestBytes: DefaultMaxRequestBytes,
		ShutdownTimeout: 30 * time.Second,
		GC:              GCConfig{Percent: DefaultGCPercent},
		Remote: RemoteConfig{
			WriterBatchSize:  16,
			MaxRecvMsgBytes:  256 << 20,
			KeepaliveTime:    10 * time.Second,
			KeepaliveTimeout: 5 * time.Second,
			ConnectRetries:   2,
		},
		Log: LogConfig{
			SegmentBytes:           1 << 30,
			SegmentAge:             7 * 24 * time.Hour,
			RetentionAge:           7 * 24 * time.Hour,
			RetentionBytes:         -1,
			MaxMessageBytes:        1048588, // Kafka's default: 1 MiB + batch overhead
			IndexIntervalBytes:     4096,
			FlushPolicy:            "never",
			FlushInterval:          2 * time.Millisecond,
			RetentionCheckInterval: 30 * time.Second,
			CheckpointInterval:     commitlog.DefaultCheckpointInterval,
			FileDeleteDelay:        node.DefaultFileDeleteDelay,
		},
		Limits: LimitsConfig{
			FetchMaxWait:           partition.DefaultMaxFetchWait,
			MaxParkedFetches:       partition.DefaultMaxParkedFetches,
			MaxPendingProduceBytes: partition.DefaultMaxPendingProduceBytes,
			ProducerIDExpiration:   producerstate.DefaultExpiration,
			MaxProducerIDs:         producerstate.DefaultMaxProducers,
			MaxPartitionsPerTopic:  controller.DefaultMaxPartitionsPerTopic,
			MaxPartitionsPerNode:   controller.DefaultMaxPartitionsPerNode,
		},
		Cleaner: defaultCleanerConfig(),
		Leaders: defaultLeadersConfig(),
		Balance: defaultBalanceConfig(),
		Replication: ReplicationConfig{
			ReplicaLagTime: replication.DefaultReplicaLagTime,
			RetryInterval:  replication.DefaultRetryInterval,

			ReassignmentThrottleBytes: DefaultReassignmentThrottleBytes,
		},
		Kafka: KafkaConfig{
			Listen:          DefaultKafkaListen,
			MaxRequestBytes: wire.DefaultMaxRequestBytes,
			IdleTimeout:     kafkaserver.DefaultIdleTimeout,
			MaxInFlight:     kafkaserver.DefaultMaxInFlight,
			ZeroCopy:        true,
		},
		Consul: ConsulConfig{
			Prefix:       DefaultConsulPrefix,
			ServiceName:  DefaultConsulServiceName,
			CheckTTL:     DefaultConsulCheckTTL,
			LockDelay:    DefaultConsulLockDelay,
			StartTimeout: DefaultConsulStartWait,
		},
	}
}

// LoadFile overlays the YAML file at path on c: keys present in the file
// replace c's values, absent keys keep them. Unknown keys are an error.
func (c *Config) LoadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("broker: read config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("broker: config %s: %w", path, describeYAMLError(data, err))
	}
	return nil
}

// AdvertiseAddress is the address other processes reach the remote at.
func (c *Config) AdvertiseAddress() string {
	if c.Advertise != "" {
		return c.Advertise
	}
	return c.Listen
}

// SlogLevel maps LogLevel to a slog.Level.
func (c *Config) SlogLevel() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("%w: log_level %q: want debug, info, warn or error", ErrInvalidConfig, c.LogLevel)
	}
	return l, nil
}

// Validate reports the first bad value as an error wrapping
// ErrInvalidConfig, with the setting's YAML name.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case c.NodeID < 0:
		return bad("node_id %d: must be >= 0", c.NodeID)
	case strings.TrimSpace(c.DataDir) == "":
		return bad("data_dir is empty")
	}
	if err := checkHostPort("listen", c.Listen, true); err != nil {
		return err
	}
	if err := c.GC.validate(); err != nil {
		return err
	}
	if c.Advertise != "" {
		if err := checkHostPort("advertise", c.Advertise, false); err != nil {
			return err
		}
	}
	if c.HTTP != "" {
		if err := checkHostPort("http", c.HTTP, true); err != nil {
			return err
		}
	}
	if _, err := c.SlogLevel(); err != nil {
		return err
	}
	if err := c.Kafka.validate(); err != nil {
		return err
	}
	r, l := c.Remote, c.Log
	switch {
	case c.MaxRequestBytes < 1024:
		return bad("max_request_bytes %d: must be >= 1024", c.MaxRequestBytes)
	case c.ShutdownTimeout <= 0:
		return bad("shutdown_timeout %s: must be > 0", c.ShutdownTimeout)
	case r.WriterBatchSize < 1:
		return bad("remote.writer_batch_size %d: must be >= 1", r.WriterBatchSize)
	case r.MaxRecvMsgBytes < 1:
		return bad("remote.max_recv_msg_bytes %d: must be > 0", r.MaxRecvMsgBytes)
	case int64(r.WriterBatchSize)*int64(c.MaxRequestBytes+requestFraming) >= int64(r.MaxRecvMsgBytes):
		return bad("remote.writer_batch_size %d × max_request_bytes %d must stay below remote.max_recv_msg_bytes %d",
			r.WriterBatchSize, c.MaxRequestBytes, r.MaxRecvMsgBytes)
	case r.KeepaliveTime <= 0 || r.KeepaliveTimeout <= 0:
		return bad("remote.keepalive_time and remote.keepalive_timeout must be > 0")
	case r.ConnectRetries < 1:
		return bad("remote.connect_retries %d: must be >= 1", r.ConnectRetries)
	case l.SegmentBytes < 1024:
		return bad("log.segment_bytes %d: must be >= 1024", l.SegmentBytes)
	case l.SegmentAge <= 0:
		return bad("log.segment_age %s: must be > 0", l.SegmentAge)
	case l.MaxMessageBytes < 1 || l.MaxMessageBytes > c.MaxRequestBytes:
		return bad("log.max_message_bytes %d: must be in [1, max_request_bytes=%d]", l.MaxMessageBytes, c.MaxRequestBytes)
	case l.IndexIntervalBytes < 1:
		return bad("log.index_interval_bytes %d: must be >= 1", l.IndexIntervalBytes)
	case l.FlushPolicy != "never" && l.FlushPolicy != "interval" && l.FlushPolicy != "always":
		return bad("log.flush_policy %q: want never, interval or always", l.FlushPolicy)
	case l.FlushInterval <= 0:
		return bad("log.flush_interval %s: must be > 0", l.FlushInterval)
	case l.RetentionCheckInterval <= 0:
		return bad("log.retention_check_interval %s: must be > 0", l.RetentionCheckInterval)
	case l.CheckpointInterval <= 0:
		return bad("log.checkpoint_interval %s: must be > 0", l.CheckpointInterval)
	case l.FileDeleteDelay <= 0:
		return bad("log.file_delete_delay %s: must be > 0", l.FileDeleteDelay)
	case c.Limits.FetchMaxWait <= 0:
		return bad("limits.fetch_max_wait %s: must be > 0", c.Limits.FetchMaxWait)
	case c.Limits.MaxParkedFetches < 1:
		return bad("limits.max_parked_fetches %d: must be >= 1", c.Limits.MaxParkedFetches)
	case c.Limits.ProducerIDExpiration < time.Millisecond:
		return bad("limits.producer_id_expiration %s: must be >= 1ms", c.Limits.ProducerIDExpiration)
	case c.Limits.MaxProducerIDs < 1:
		return bad("limits.max_producer_ids %d: must be >= 1", c.Limits.MaxProducerIDs)
	case c.Limits.MaxPartitionsPerTopic < 1:
		return bad("limits.max_partitions_per_topic %d: must be >= 1", c.Limits.MaxPartitionsPerTopic)
	case c.Limits.MaxPartitionsPerNode < 1:
		return bad("limits.max_partitions_per_node %d: must be >= 1", c.Limits.MaxPartitionsPerNode)
	case c.Limits.MaxPendingProduceBytes < int64(c.MaxRequestBytes):
		return bad("limits.max_pending_produce_bytes %d: must be >= max_request_bytes %d", c.Limits.MaxPendingProduceBytes, c.MaxRequestBytes)
	}
	if err := c.Replication.validate(); err != nil {
		return err
	}
	if err := c.validateLeaders(); err != nil {
		return err
	}
	if err := c.validateBalance(); err != nil {
		return err
	}
	if err := c.Cleaner.validate(); err != nil {
		return err
	}
	if err := c.validateCluster(); err != nil {
		return err
	}
	_, err := c.TopicDefaults()
	return err
}

// badConfig is an ErrInvalidConfig error with a formatted detail.
func badConfig(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

// requestFraming is a generous allowance for the protobuf and remote
// envelope around a request's records.
const requestFraming = 64 << 10

func checkHostPort(name, addr string, allowZeroPort bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w: %s %q: want host:port", ErrInvalidConfig, name, addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !allowZeroPort) {
		return fmt.Errorf("%w: %s %q: bad port", ErrInvalidConfig, name, addr)
	}
	if host == "" && !allowZeroPort {
		return fmt.Errorf("%w: %s %q: host required", ErrInvalidConfig, name, addr)
	}
	return nil
}

// TopicDefaults returns the topic configuration defaults the log settings
// describe, validated like a topic's own configs.
func (c *Config) TopicDefaults() (metadata.TopicConfig, error) {
	d := metadata.DefaultTopicConfig()
	d.SegmentBytes = c.Log.SegmentBytes
	d.SegmentAge = c.Log.SegmentAge
	d.Retention = c.Log.RetentionAge
	if d.Retention <= 0 {
		d.Retention = metadata.Forever
	}
	d.RetentionBytes = c.Log.RetentionBytes
	if d.RetentionBytes <= 0 {
		d.RetentionBytes = -1
	}
	d.MaxMessageBytes = int32(c.Log.MaxMessageBytes)
	d.FlushPolicy = metadata.FlushPolicy(c.Log.FlushPolicy)
	d.FlushInterval = c.Log.FlushInterval
	c.Cleaner.applyTopicDefaults(&d)
	if err := d.Validate(); err != nil {
		return d, fmt.Errorf("%w: log: %v", ErrInvalidConfig, err)
	}
	return d, nil
}
