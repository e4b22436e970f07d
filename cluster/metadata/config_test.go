package metadata

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

func TestTopicConfigDefaults(t *testing.T) {
	c := DefaultTopicConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	want := map[string]string{
		ConfigRetentionMs:            "604800000",
		ConfigRetentionBytes:         "-1",
		ConfigSegmentBytes:           "1073741824",
		ConfigSegmentMs:              "604800000",
		ConfigMaxMessageBytes:        "1048588",
		ConfigCleanupPolicy:          "delete",
		ConfigCompressionType:        "producer",
		ConfigFlushPolicy:            "never",
		ConfigFlushIntervalMs:        "2",
		ConfigMinInsyncReplicas:      "1",
		ConfigUncleanLeaderElection:  "false",
		ConfigDeleteRetentionMs:      "86400000",
		ConfigMessageTimestampType:   "CreateTime",
		ConfigMinCleanableDirtyRatio: "0.5",
		ConfigMinCompactionLagMs:     "0",
		ConfigMaxCompactionLagMs:     "9223372036854775807",
	}
	got := c.Map()
	if len(got) != len(want) || len(ConfigNames()) != len(want) {
		t.Fatalf("Map has %d keys, ConfigNames %d, want %d", len(got), len(ConfigNames()), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("default %s = %q, want %q", k, got[k], v)
		}
	}
	// Parsing the map of the defaults gives the defaults back.
	again, err := ParseTopicConfig(got, TopicConfig{}, 0)
	if err != nil || again != c {
		t.Fatalf("round trip = %+v, %v; want %+v", again, err, c)
	}
	if (TopicConfig{}).Validate() == nil {
		t.Fatal("zero TopicConfig validated")
	}
}

func TestTopicConfigParseValid(t *testing.T) {
	c, err := ParseTopicConfig(map[string]string{
		ConfigRetentionMs:            "-1",
		ConfigRetentionBytes:         "1048576",
		ConfigSegmentBytes:           "1024",
		ConfigSegmentMs:              "60000",
		ConfigMaxMessageBytes:        "2000000",
		ConfigCleanupPolicy:          "delete,compact",
		ConfigCompressionType:        "zstd",
		ConfigFlushPolicy:            "interval",
		ConfigFlushIntervalMs:        "2",
		ConfigMinInsyncReplicas:      "2",
		ConfigUncleanLeaderElection:  "true",
		ConfigDeleteRetentionMs:      "0",
		ConfigMessageTimestampType:   "LogAppendTime",
		ConfigMinCleanableDirtyRatio: "0.1",
		ConfigMinCompactionLagMs:     "5000",
		ConfigMaxCompactionLagMs:     "60000",
	}, DefaultTopicConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	want := TopicConfig{
		Retention:              Forever,
		RetentionBytes:         1 << 20,
		SegmentBytes:           1024,
		SegmentAge:             time.Minute,
		MaxMessageBytes:        2000000,
		CleanupPolicy:          CleanupCompactDelete,
		CompressionType:        "zstd",
		FlushPolicy:            FlushInterval,
		FlushInterval:          2 * time.Millisecond,
		MinInsyncReplicas:      2,
		UncleanLeaderElection:  true,
		DeleteRetention:        0,
		MessageTimestampType:   TimestampLogAppendTime,
		MinCleanableDirtyRatio: 0.1,
		MinCompactionLag:       5 * time.Second,
		MaxCompactionLag:       time.Minute,
	}
	if c != want {
		t.Fatalf("parsed %+v\nwant   %+v", c, want)
	}
	if !c.Compacts() || !c.Deletes() {
		t.Fatal("compact,delete should both compact and delete")
	}
	// Huge millisecond counts are capped rather than overflowing.
	c, err = ParseTopicConfig(map[string]string{ConfigRetentionMs: "9223372036854775807"}, DefaultTopicConfig(), 1)
	if err != nil || c.Retention <= 0 {
		t.Fatalf("Long.MAX retention = %v, %v", c.Retention, err)
	}
	// min.insync.replicas from the defaults is not checked against RF.
	defaults := DefaultTopicConfig()
	defaults.MinInsyncReplicas = 2
	if _, err := ParseTopicConfig(nil, defaults, 1); err != nil {
		t.Fatalf("default min.insync.replicas above RF refused: %v", err)
	}
}

func TestTopicConfigParseInvalid(t *testing.T) {
	cases := []struct {
		key, value string
		rf         int
		message    string
	}{
		// Unknown keys.
		{"retention.hours", "1", 1, `unknown topic config "retention.hours"`},
		// Numbers out of range or not numbers.
		{ConfigRetentionMs, "-2", 1, `retention.ms: invalid value "-2"`},
		{ConfigRetentionMs, "soon", 1, `retention.ms: invalid value "soon"`},
		{ConfigRetentionBytes, "-5", 1, `retention.bytes: invalid value "-5"`},
		{ConfigSegmentBytes, "1023", 1, `segment.bytes: invalid value "1023": must be a number of bytes from 1024`},
		{ConfigSegmentBytes, "4294967296", 1, `segment.bytes: invalid value "4294967296"`},
		{ConfigSegmentMs, "0", 1, `segment.ms: invalid value "0"`},
		{ConfigMaxMessageBytes, "0", 1, `max.message.bytes: invalid value "0"`},
		{ConfigFlushIntervalMs, "0", 1, `flush.interval.ms: invalid value "0"`},
		{ConfigMinInsyncReplicas, "0", 1, `min.insync.replicas: invalid value "0"`},
		{ConfigMinInsyncReplicas, "3", 2, `must not exceed the replication factor 2`},
		{ConfigDeleteRetentionMs, "-1", 1, `delete.retention.ms: invalid value "-1"`},
		{ConfigMinCleanableDirtyRatio, "1.5", 1, `min.cleanable.dirty.ratio: invalid value "1.5"`},
		{ConfigMinCompactionLagMs, "-1", 1, `min.compaction.lag.ms: invalid value "-1"`},
		{ConfigMaxCompactionLagMs, "0", 1, `max.compaction.lag.ms: invalid value "0"`},
		// Enumerations.
		{ConfigCleanupPolicy, "purge", 1, `cleanup.policy: invalid value "purge": must be delete, compact or compact,delete`},
		{ConfigCompressionType, "brotli", 1, `compression.type: invalid value "brotli"`},
		{ConfigFlushPolicy, "sometimes", 1, `flush.policy: invalid value "sometimes": must be never, interval or always`},
		{ConfigUncleanLeaderElection, "yes", 1, `unclean.leader.election.enable: invalid value "yes"`},
		{ConfigMessageTimestampType, "createtime", 1, `message.timestamp.type: invalid value "createtime"`},
	}
	for _, tc := range cases {
		_, err := ParseTopicConfig(map[string]string{tc.key: tc.value}, DefaultTopicConfig(), tc.rf)
		if !errors.Is(err, messages.ErrInvalidConfig) {
			t.Errorf("%s=%q: %v, want ErrInvalidConfig", tc.key, tc.value, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.message) {
			t.Errorf("%s=%q: %q, want it to contain %q", tc.key, tc.value, err, tc.message)
		}
	}
}
