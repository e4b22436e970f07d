package group

import (
	"log/slog"
	"time"

	core "github.com/sluice-mq/sluice/group"
)

// Defaults, Kafka's where Kafka has the setting.
const (
	// DefaultOffsetsPartitions is offsets.topic.num.partitions.
	DefaultOffsetsPartitions = 50
	// DefaultOffsetsReplicationFactor is offsets.topic.replication.factor;
	// it is lowered to the number of live nodes when fewer are up.
	DefaultOffsetsReplicationFactor = 3
	// DefaultOffsetsSegmentBytes is offsets.topic.segment.bytes.
	DefaultOffsetsSegmentBytes = 100 << 20
	// DefaultOffsetsRetention is offsets.retention.minutes (7 days).
	DefaultOffsetsRetention = 7 * 24 * time.Hour
	// DefaultOffsetsRetentionCheckInterval is
	// offsets.retention.check.interval.ms.
	DefaultOffsetsRetentionCheckInterval = 10 * time.Minute
	// DefaultMaxMetadataBytes is offset.metadata.max.bytes.
	DefaultMaxMetadataBytes = 4096
	// DefaultWriteTimeout bounds one append to __consumer_offsets
	// (offsets.commit.timeout.ms).
	DefaultWriteTimeout = 5 * time.Second
	// DefaultLoadFetchBytes is how much of the log one load step reads
	// (offsets.load.buffer.size).
	DefaultLoadFetchBytes = 5 << 20
)

// Config holds the coordinator settings shared by every group actor of a
// node. The zero value is usable: every zero field means its default.
type Config struct {
	// Group shapes the rebalance protocol (session timeout bounds, initial
	// rebalance delay, group size cap). The zero value means
	// core.DefaultConfig().
	Group core.Config
	// OffsetsPartitions and OffsetsReplicationFactor size
	// __consumer_offsets when it is created.
	OffsetsPartitions        int32
	OffsetsReplicationFactor int32
	// OffsetsSegmentBytes is the segment.bytes of __consumer_offsets.
	OffsetsSegmentBytes int64
	// OffsetsRetention is how long the offsets of an Empty group are kept
	// after it became empty (after their commit for groups that never had
	// members); OffsetsRetentionCheckInterval is how often that is checked.
	OffsetsRetention              time.Duration
	OffsetsRetentionCheckInterval time.Duration
	// MaxMetadataBytes caps the metadata string of a committed offset;
	// longer ones fail with OFFSET_METADATA_TOO_LARGE.
	MaxMetadataBytes int
	// WriteTimeout bounds one append to __consumer_offsets.
	WriteTimeout time.Duration
	// LoadFetchBytes is the fetch size used while loading a group.
	LoadFetchBytes int32
	// OnLoad, when set, is told of every completed group load: how many
	// __consumer_offsets records it read (of every group of the
	// partition) and how long it took. It runs in the group's actor and
	// must not block.
	OnLoad func(group string, records int, elapsed time.Duration)
	// Now returns the current time; nil means time.Now. Tests move it.
	Now func() time.Time
	// Stats, when set, gets the group's state, size and committed
	// offsets for /metrics (stats.go).
	Stats *Stats
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Group.MinSessionTimeout == 0 && c.Group.MaxSessionTimeout == 0 {
		c.Group = core.DefaultConfig()
	}
	if c.OffsetsPartitions <= 0 {
		c.OffsetsPartitions = DefaultOffsetsPartitions
	}
	if c.OffsetsReplicationFactor <= 0 {
		c.OffsetsReplicationFactor = DefaultOffsetsReplicationFactor
	}
	if c.OffsetsSegmentBytes <= 0 {
		c.OffsetsSegmentBytes = DefaultOffsetsSegmentBytes
	}
	if c.OffsetsRetention <= 0 {
		c.OffsetsRetention = DefaultOffsetsRetention
	}
	if c.OffsetsRetentionCheckInterval <= 0 {
		c.OffsetsRetentionCheckInterval = DefaultOffsetsRetentionCheckInterval
	}
	if c.MaxMetadataBytes <= 0 {
		c.MaxMetadataBytes = DefaultMaxMetadataBytes
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.LoadFetchBytes <= 0 {
		c.LoadFetchBytes = DefaultLoadFetchBytes
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
