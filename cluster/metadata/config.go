package metadata

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// Topic config names (Kafka's, plus flush.policy and flush.interval.ms).
const (
	ConfigRetentionMs           = "retention.ms"
	ConfigRetentionBytes        = "retention.bytes"
	ConfigSegmentBytes          = "segment.bytes"
	ConfigSegmentMs             = "segment.ms"
	ConfigMaxMessageBytes       = "max.message.bytes"
	ConfigCleanupPolicy         = "cleanup.policy"
	ConfigCompressionType       = "compression.type"
	ConfigFlushPolicy           = "flush.policy"
	ConfigFlushIntervalMs       = "flush.interval.ms"
	ConfigMinInsyncReplicas     = "min.insync.replicas"
	ConfigUncleanLeaderElection = "unclean.leader.election.enable"
	ConfigDeleteRetentionMs     = "delete.retention.ms"
	ConfigMessageTimestampType  = "message.timestamp.type"
	// Compaction (cleanup.policy=compact) settings.
	ConfigMinCleanableDirtyRatio = "min.cleanable.dirty.ratio"
	ConfigMinCompactionLagMs     = "min.compaction.lag.ms"
	ConfigMaxCompactionLagMs     = "max.compaction.lag.ms"
)

// Cleanup policies.
const (
	CleanupDelete        = "delete"
	CleanupCompact       = "compact"
	CleanupCompactDelete = "compact,delete"
)

// FlushPolicy says when a partition's log is fsynced.
type FlushPolicy string

// Flush policies.
const (
	// FlushNever leaves flushing to the OS and relies on replication (Kafka's default).
	FlushNever FlushPolicy = "never"
	// FlushInterval fsyncs once per FlushInterval window (group commit).
	FlushInterval FlushPolicy = "interval"
	// FlushAlways fsyncs before acknowledging every append.
	FlushAlways FlushPolicy = "always"
)

// Timestamp types.
const (
	TimestampCreateTime    = "CreateTime"
	TimestampLogAppendTime = "LogAppendTime"
)

// Limits on config values.
const (
	// MinSegmentBytes is the smallest segment.bytes accepted (Kafka allows
	// 14; tiny segments are useful in tests).
	MinSegmentBytes = 1024
	// MaxSegmentBytes keeps file positions within the index's 32 bits.
	MaxSegmentBytes = math.MaxInt32
	// Forever is the Retention of a topic that keeps data forever (retention.ms=-1).
	Forever time.Duration = -1
)

// TopicConfig is a topic's effective configuration. The zero value is not
// valid; start from DefaultTopicConfig.
type TopicConfig struct {
	// Retention is how long data is kept (retention.ms); Forever keeps it.
	Retention time.Duration
	// RetentionBytes caps a partition's size (retention.bytes); -1 is unlimited.
	RetentionBytes int64
	// SegmentBytes is the size at which the active segment rolls (segment.bytes).
	SegmentBytes int64
	// SegmentAge is the age at which the active segment rolls (segment.ms).
	SegmentAge time.Duration
	// MaxMessageBytes is the largest record batch accepted (max.message.bytes).
	MaxMessageBytes int32
	// CleanupPolicy is CleanupDelete, CleanupCompact or CleanupCompactDelete.
	CleanupPolicy string
	// CompressionType is producer (keep the producer's codec), uncompressed,
	// none, gzip, snappy, lz4 or zstd.
	CompressionType string
	FlushPolicy     FlushPolicy
	// FlushInterval is the group-commit window of FlushInterval (flush.interval.ms).
	FlushInterval     time.Duration
	MinInsyncReplicas int
	// UncleanLeaderElection lets an out-of-sync replica become leader,
	// losing data, when no in-sync replica is alive.
	UncleanLeaderElection bool
	// DeleteRetention is how long compaction keeps tombstones (delete.retention.ms).
	DeleteRetention time.Duration
	// MessageTimestampType is TimestampCreateTime or TimestampLogAppendTime.
	MessageTimestampType string
	// MinCleanableDirtyRatio is the dirty share of a compacted log at
	// which it is cleaned (min.cleanable.dirty.ratio).
	MinCleanableDirtyRatio float64
	// MinCompactionLag keeps records this young out of compaction
	// (min.compaction.lag.ms).
	MinCompactionLag time.Duration
	// MaxCompactionLag cleans a dirty segment this old whatever the
	// ratio (max.compaction.lag.ms); NoMaxCompactionLag means no limit.
	MaxCompactionLag time.Duration
}

// NoMaxCompactionLag is max.compaction.lag.ms's default (Kafka's
// Long.MAX_VALUE): no limit.
const NoMaxCompactionLag = time.Duration(math.MaxInt64)

// DefaultTopicConfig returns Kafka's defaults.
func DefaultTopicConfig() TopicConfig {
	return TopicConfig{
		Retention:              7 * 24 * time.Hour,
		RetentionBytes:         -1,
		SegmentBytes:           1 << 30,
		SegmentAge:             7 * 24 * time.Hour,
		MaxMessageBytes:        1048588,
		CleanupPolicy:          CleanupDelete,
		CompressionType:        "producer",
		FlushPolicy:            FlushNever,
		FlushInterval:          2 * time.Millisecond, // the broker's log.flush_interval default
		MinInsyncReplicas:      1,
		UncleanLeaderElection:  false,
		DeleteRetention:        24 * time.Hour,
		MessageTimestampType:   TimestampCreateTime,
		MinCleanableDirtyRatio: 0.5,
		MinCompactionLag:       0,
		MaxCompactionLag:       NoMaxCompactionLag,
	}
}

// Compacts reports whether the cleanup policy includes compaction.
func (c TopicConfig) Compacts() bool { return strings.Contains(c.CleanupPolicy, CleanupCompact) }

// Deletes reports whether the cleanup policy includes deletion by retention.
func (c TopicConfig) Deletes() bool { return strings.Contains(c.CleanupPolicy, CleanupDelete) }

// configKey parses one config value into a TopicConfig and formats it back.
type configKey struct {
	parse  func(c *TopicConfig, value string) error
	format func(c TopicConfig) string
}

var configKeys = map[string]configKey{
	ConfigRetentionMs: {
		parse: func(c *TopicConfig, v string) (err error) {
			c.Retention, err = parseMillis(v, -1, "-1 (forever) or a number of milliseconds >= 0")
			return err
		},
		format: func(c TopicConfig) string { return formatMillis(c.Retention) },
	},
	ConfigRetentionBytes: {
		parse: func(c *TopicConfig, v string) (err error) {
			c.RetentionBytes, err = parseInt(v, -1, math.MaxInt64, "-1 (unlimited) or a number of bytes >= 0")
			return err
		},
		format: func(c TopicConfig) string { return strconv.FormatInt(c.RetentionBytes, 10) },
	},
	ConfigSegmentBytes: {
		parse: func(c *TopicConfig, v string) (err error) {
			c.SegmentBytes, err = parseInt(v, MinSegmentBytes, MaxSegmentBytes,
				fmt.Sprintf("a number of bytes from %d to %d", MinSegmentBytes, MaxSegmentBytes))
			return err
		},
		format: func(c TopicConfig) string { return strconv.FormatInt(c.SegmentBytes, 10) },
	},
	ConfigSegmentMs: {
		parse: func(c *TopicConfig, v string) (err error) {
			c.SegmentAge, err = parseMillis(v, 1, "a number of milliseconds >= 1")
			return err
		},
		format: func(c TopicConfig) string { return formatMillis(c.SegmentAge) },
	},
	ConfigMaxMessageBytes: {
		parse: func(c *TopicConfig, v string) error {
			n, err := parseInt(v, 1, math.MaxInt32, "a number of bytes >= 1")
			c.MaxMessageBytes = int32(n)
			return err
		},
		format: func(c TopicConfig) string { return strconv.Itoa(int(c.MaxMessageBytes)) },
	},
	ConfigCleanupPolicy: {
		parse: func(c *TopicConfig, v string) error {
			p, ok := normalizeCleanupPolicy(v)
			if !ok {
				return errMust("delete, compact or compact,delete")
			}
			c.CleanupPolicy = p
			return nil
		},
		format: func(c TopicConfig) string { return c.CleanupPolicy },
	},
	ConfigCompressionType: {
		parse: func(c *TopicConfig, v string) error {
			switch v {
			case "producer", "uncompressed", "none", "gzip", "snappy", "lz4", "zstd":
				c.CompressionType = v
				return nil
			}
			return errMust("producer, uncompressed, none, gzip, snappy, lz4 or zstd")
		},
		format: func(c TopicConfig) string { return c.CompressionType },
	},
	ConfigFlushPolicy: {
		parse: func(c *TopicConfig, v string) error {
			switch p := FlushPolicy(v); p {
			case FlushNever, FlushInterval, FlushAlways:
				c.FlushPolicy = p
				return nil
			}
			return errMust("never, interval or always")
		},
		format: func(c TopicConfig) string { return string(c.FlushPolicy) },
	},
	ConfigFlushIntervalMs: {
		parse: func(c *TopicConfig, v string) (err error) {
			c.FlushInterval, err = parseMillis(v, 1, "a number of milliseconds >= 1")
			return err
		},
		format: func(c TopicConfig) string { return formatMillis(c.FlushInterval) },
	},
	ConfigMinInsyncReplicas: {
		parse: func(c *TopicConfig, v string) error {
			n, err := parseInt(v, 1, math.MaxInt32, "a number of replicas >= 1")
			c.MinInsyncReplicas = int(n)
			return err
		},
		format: func(c TopicConfig) string { return strconv.Itoa(c.MinInsyncReplicas) },
	},
	ConfigUncleanLeaderElection: {
		parse: func(c *TopicConfig, v string) error {
			switch strings.ToLower(v) {
			case "true":
				c.UncleanLeaderElection = true
			case "false":
				c.UncleanLeaderElection = false
			default:
				return errMust("true or false")
			}
			return nil
		},
		format: func(c TopicConfig) string { return strconv.FormatBool(c.UncleanLeaderElection) },
	},
	ConfigDeleteRetentionMs: {
		parse: func(c *TopicConfig, v string) (err error) {
			c.DeleteRetention, err = parseMillis(v, 0, "a number of milliseconds >= 0")
			return err
		},
		format: func(c TopicConfig) string { return formatMillis(c.DeleteRetention) },
	},
	ConfigMinCleanableDirtyRatio: {
		parse: func(c *TopicConfig, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || !(f >= 0 && f <= 1) {
				return errMust("a number from 0 to 1")
			}
			c.MinCleanableDirtyRatio = f
			return nil
		},
		format: func(c TopicConfig) string { return strconv.FormatFloat(c.MinCleanableDirtyRatio, 'g', -1, 64) },
	},
	ConfigMinCompactionLagMs: {
		parse: func(c *TopicConfig, v string) (err error) {
			c.MinCompactionLag, err = parseMillis(v, 0, "a number of milliseconds >= 0")
			return err
		},
		format: func(c TopicConfig) string { return formatMillis(c.MinCompactionLag) },
	},
	ConfigMaxCompactionLagMs: {
		parse: func(c *TopicConfig, v string) (err error) {
			c.MaxCompactionLag, err = parseMillis(v, 1, "a number of milliseconds >= 1")
			return err
		},
		format: func(c TopicConfig) string {
			if c.MaxCompactionLag == NoMaxCompactionLag {
				return strconv.FormatInt(math.MaxInt64, 10)
			}
			return formatMillis(c.MaxCompactionLag)
		},
	},
	ConfigMessageTimestampType: {
		parse: func(c *TopicConfig, v string) error {
			switch v {
			case TimestampCreateTime, TimestampLogAppendTime:
				c.MessageTimestampType = v
				return nil
			}
			return errMust("CreateTime or LogAppendTime")
		},
		format: func(c TopicConfig) string { return c.MessageTimestampType },
	},
}

// ConfigNames returns every topic config name, sorted.
func ConfigNames() []string {
	names := make([]string, 0, len(configKeys))
	for n := range configKeys {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// mustError is a value-range failure, completed with the key and value by
// ParseTopicConfig.
type mustError string

func (e mustError) Error() string { return "must be " + string(e) }

func errMust(what string) error { return mustError(what) }

func normalizeCleanupPolicy(v string) (string, bool) {
	var del, compact bool
	for _, part := range strings.Split(v, ",") {
		switch strings.TrimSpace(part) {
		case CleanupDelete:
			del = true
		case CleanupCompact:
			compact = true
		default:
			return "", false
		}
	}
	switch {
	case del && compact:
		return CleanupCompactDelete, true
	case compact:
		return CleanupCompact, true
	default:
		return CleanupDelete, true
	}
}

func parseInt(v string, lo, hi int64, what string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, errMust(what)
	}
	return n, nil
}

// parseMillis parses a millisecond count into a Duration; values too large
// for a Duration (about 292 years) are capped.
func parseMillis(v string, lo int64, what string) (time.Duration, error) {
	n, err := parseInt(v, lo, math.MaxInt64, what)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return Forever, nil
	}
	if n > int64(math.MaxInt64/time.Millisecond) {
		return time.Duration(math.MaxInt64), nil
	}
	return time.Duration(n) * time.Millisecond, nil
}

func formatMillis(d time.Duration) string {
	if d < 0 {
		return "-1"
	}
	return strconv.FormatInt(d.Milliseconds(), 10)
}

// ParseTopicConfig applies configs (Kafka names → values) over defaults and
// validates every value. replicationFactor > 0 also checks that
// min.insync.replicas, when set in configs, does not exceed it. Errors wrap
// messages.ErrInvalidConfig and name the key and the bad value.
func ParseTopicConfig(configs map[string]string, defaults TopicConfig, replicationFactor int) (TopicConfig, error) {
	c := defaults
	names := make([]string, 0, len(configs))
	for n := range configs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		value := configs[name]
		key, ok := configKeys[name]
		if !ok {
			return TopicConfig{}, messages.Wrap(messages.ErrorCode_INVALID_CONFIG, "unknown topic config %q", name)
		}
		if err := key.parse(&c, value); err != nil {
			return TopicConfig{}, messages.Wrap(messages.ErrorCode_INVALID_CONFIG, "%s: invalid value %q: %v", name, value, err)
		}
	}
	if _, set := configs[ConfigMinInsyncReplicas]; set && replicationFactor > 0 && c.MinInsyncReplicas > replicationFactor {
		return TopicConfig{}, messages.Wrap(messages.ErrorCode_INVALID_CONFIG,
			"%s: invalid value %q: must not exceed the replication factor %d",
			ConfigMinInsyncReplicas, configs[ConfigMinInsyncReplicas], replicationFactor)
	}
	return c, nil
}

// Map returns every config of c by Kafka name, as strings.
func (c TopicConfig) Map() map[string]string {
	m := make(map[string]string, len(configKeys))
	for name, key := range configKeys {
		m[name] = key.format(c)
	}
	return m
}

// Validate checks every field of c (broker defaults, say) against the same
// rules as ParseTopicConfig.
func (c TopicConfig) Validate() error {
	_, err := ParseTopicConfig(c.Map(), c, 0)
	return err
}
