package broker

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster/metadata"
)

func TestConfigDefaultsValid(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// The transport invariant holds for the defaults with room to spare.
	if got := int64(c.Remote.WriterBatchSize) * int64(c.MaxRequestBytes); got*2 > int64(c.Remote.MaxRecvMsgBytes) {
		t.Fatalf("batch × max request = %d, receive limit %d", got, c.Remote.MaxRecvMsgBytes)
	}
	d, err := c.TopicDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if d.MaxMessageBytes != 1048588 || d.FlushPolicy != metadata.FlushNever || d.Retention != 7*24*time.Hour {
		t.Fatalf("topic defaults %+v", d)
	}
}

func TestConfigLoadFileOverlays(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sluiced.yaml")
	yaml := `
node_id: 7
data_dir: /var/lib/sluice
log:
  flush_policy: interval
  retention_age: 1h
  segment_bytes: 1048576
remote:
  writer_batch_size: 8
`
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	if err := c.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if c.NodeID != 7 || c.DataDir != "/var/lib/sluice" || c.Log.FlushPolicy != "interval" ||
		c.Log.RetentionAge != time.Hour || c.Log.SegmentBytes != 1<<20 || c.Remote.WriterBatchSize != 8 {
		t.Fatalf("loaded %+v", c)
	}
	// Keys absent from the file keep their defaults.
	if c.Listen != DefaultListen || c.Remote.MaxRecvMsgBytes != 256<<20 || c.Log.MaxMessageBytes != 1048588 {
		t.Fatalf("defaults lost: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d, err := c.TopicDefaults()
	if err != nil || d.Retention != time.Hour || d.FlushPolicy != metadata.FlushInterval {
		t.Fatalf("topic defaults %+v %v", d, err)
	}
}

func TestConfigLoadFileRejectsUnknownKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("node_idd: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	if err := c.LoadFile(path); err == nil || !strings.Contains(err.Error(), "node_idd") {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // substring of the error; "" means valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"port zero listen", func(c *Config) { c.Listen = "127.0.0.1:0" }, ""},
		{"advertise", func(c *Config) { c.Advertise = "broker-1.example:9650" }, ""},
		{"http disabled", func(c *Config) { c.HTTP = "" }, ""},
		{"negative node id", func(c *Config) { c.NodeID = -1 }, "node_id"},
		{"empty data dir", func(c *Config) { c.DataDir = " " }, "data_dir"},
		{"listen without port", func(c *Config) { c.Listen = "localhost" }, "listen"},
		{"advertise port zero", func(c *Config) { c.Advertise = "host:0" }, "advertise"},
		{"log level", func(c *Config) { c.LogLevel = "chatty" }, "log_level"},
		// Transport sizing: a full writer batch of maximum requests must fit.
		{"batch too big for receive limit", func(c *Config) { c.Remote.WriterBatchSize = 64 }, "writer_batch_size"},
		{"max message above request limit", func(c *Config) { c.Log.MaxMessageBytes = 16 << 20 }, "max_message_bytes"},
		{"flush policy", func(c *Config) { c.Log.FlushPolicy = "sometimes" }, "flush_policy"},
		{"segment bytes", func(c *Config) { c.Log.SegmentBytes = 10 }, "segment_bytes"},
		{"connect retries", func(c *Config) { c.Remote.ConnectRetries = 0 }, "connect_retries"},
		{"shutdown timeout", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdown_timeout"},
		{"cleaner threads", func(c *Config) { c.Cleaner.Threads = 0 }, "cleaner.threads"},
		{"cleaner ratio", func(c *Config) { c.Cleaner.MinCleanableRatio = 2 }, "cleaner.min_cleanable_ratio"},
		{"cleaner dedupe buffer", func(c *Config) { c.Cleaner.DedupeBufferSize = 1 }, "cleaner.dedupe_buffer_size"},
		{"cleaner backoff", func(c *Config) { c.Cleaner.Backoff = 0 }, "cleaner.backoff"},
		{"sub-millisecond flush interval", func(c *Config) { c.Log.FlushInterval = time.Microsecond }, "flush.interval.ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want ErrInvalidConfig mentioning %q", err, tt.want)
			}
		})
	}
}

// The cleaner's topic defaults reach the topic configuration.
func TestConfigCleanerTopicDefaults(t *testing.T) {
	c := DefaultConfig()
	c.Cleaner.MinCleanableRatio = 0.2
	c.Cleaner.DeleteRetention = time.Hour
	c.Cleaner.MinCompactionLag = time.Minute
	d, err := c.TopicDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if d.MinCleanableDirtyRatio != 0.2 || d.DeleteRetention != time.Hour || d.MinCompactionLag != time.Minute ||
		d.MaxCompactionLag != metadata.NoMaxCompactionLag {
		t.Fatalf("topic defaults %+v", d)
	}
}
