package broker

import (
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/storage/cleaner"
)

// CleanerConfig tunes the log cleaner, which compacts the partitions of
// topics with cleanup.policy=compact (Kafka's log.cleaner.* settings).
type CleanerConfig struct {
	// Enabled runs the cleaner (log.cleaner.enable). Without it compacted
	// topics, __consumer_offsets included, grow without bound.
	Enabled bool `yaml:"enabled"`
	// Threads is how many logs are cleaned at once (log.cleaner.threads).
	Threads int `yaml:"threads"`
	// IOMaxBytesPerSecond caps the cleaner's reads and writes together
	// (log.cleaner.io.max.bytes.per.second); 0 means unlimited.
	IOMaxBytesPerSecond int64 `yaml:"io_max_bytes_per_second"`
	// DedupeBufferSize bounds the memory of one clean's offset map
	// (log.cleaner.dedupe.buffer.size, about 64 bytes per key); a log
	// with more distinct keys is cleaned a part at a time.
	DedupeBufferSize int64 `yaml:"dedupe_buffer_size"`
	// Backoff is how long an idle cleaner thread waits before looking for
	// a dirty log again (log.cleaner.backoff.ms).
	Backoff time.Duration `yaml:"backoff"`
	// MinCleanableRatio, DeleteRetention, MinCompactionLag and
	// MaxCompactionLag are the topic defaults of min.cleanable.dirty.ratio,
	// delete.retention.ms, min.compaction.lag.ms and max.compaction.lag.ms
	// (0 means no maximum).
	MinCleanableRatio float64       `yaml:"min_cleanable_ratio"`
	DeleteRetention   time.Duration `yaml:"delete_retention"`
	MinCompactionLag  time.Duration `yaml:"min_compaction_lag"`
	MaxCompactionLag  time.Duration `yaml:"max_compaction_lag"`
}

// defaultCleanerConfig is Kafka's defaults.
func defaultCleanerConfig() CleanerConfig {
	return CleanerConfig{
		Enabled:           true,
		Threads:           cleaner.DefaultThreads,
		DedupeBufferSize:  cleaner.DefaultDedupeBufferBytes,
		Backoff:           cleaner.DefaultBackoff,
		MinCleanableRatio: 0.5,
		DeleteRetention:   24 * time.Hour,
	}
}

func (c CleanerConfig) validate() error {
	switch {
	case c.Threads < 1:
		return badConfig("cleaner.threads %d: must be >= 1", c.Threads)
	case c.IOMaxBytesPerSecond < 0:
		return badConfig("cleaner.io_max_bytes_per_second %d: must be >= 0", c.IOMaxBytesPerSecond)
	case c.DedupeBufferSize < cleaner.BytesPerKey:
		return badConfig("cleaner.dedupe_buffer_size %d: must be >= %d", c.DedupeBufferSize, cleaner.BytesPerKey)
	case c.Backoff <= 0:
		return badConfig("cleaner.backoff %s: must be > 0", c.Backoff)
	case !(c.MinCleanableRatio >= 0 && c.MinCleanableRatio <= 1):
		return badConfig("cleaner.min_cleanable_ratio %g: must be in [0, 1]", c.MinCleanableRatio)
	case c.DeleteRetention < 0 || c.MinCompactionLag < 0 || c.MaxCompactionLag < 0:
		return badConfig("cleaner.delete_retention, min_compaction_lag and max_compaction_lag must be >= 0")
	}
	return nil
}

// applyTopicDefaults sets the compaction defaults of the topics.
func (c CleanerConfig) applyTopicDefaults(d *metadata.TopicConfig) {
	d.MinCleanableDirtyRatio = c.MinCleanableRatio
	d.DeleteRetention = c.DeleteRetention
	d.MinCompactionLag = c.MinCompactionLag
	d.MaxCompactionLag = c.MaxCompactionLag
	if d.MaxCompactionLag <= 0 {
		d.MaxCompactionLag = metadata.NoMaxCompactionLag
	}
}

// startCleaner creates and starts the node's log cleaner, nil when it is
// disabled, and registers its metrics.
func startCleaner(cfg Config, logger *slog.Logger, registry *prometheus.Registry) (*cleaner.Cleaner, error) {
	if !cfg.Cleaner.Enabled {
		return nil, nil
	}
	c, err := cleaner.New(cleaner.Config{
		Dir:               cfg.DataDir,
		Threads:           cfg.Cleaner.Threads,
		IOBytesPerSecond:  float64(cfg.Cleaner.IOMaxBytesPerSecond),
		Backoff:           cfg.Cleaner.Backoff,
		DedupeBufferBytes: cfg.Cleaner.DedupeBufferSize,
		Logger:            logger.With("component", "cleaner"),
	})
	if err != nil {
		return nil, err
	}
	stat := func(f func(cleaner.Stats) float64) func() float64 {
		return func() float64 { return f(c.Stats()) }
	}
	if err := errors.Join(
		registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sluice_log_cleaner_runs_total", Help: "Log cleanings completed.",
		}, stat(func(s cleaner.Stats) float64 { return float64(s.Runs) }))),
		registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sluice_log_cleaner_read_bytes_total", Help: "Segment bytes read by completed log cleanings.",
		}, stat(func(s cleaner.Stats) float64 { return float64(s.BytesRead) }))),
		registry.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sluice_log_cleaner_written_bytes_total", Help: "Bytes of cleaned segments swapped in.",
		}, stat(func(s cleaner.Stats) float64 { return float64(s.BytesWritten) }))),
		registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sluice_log_cleaner_uncleanable_logs", Help: "Compacted logs skipped because a segment is corrupt.",
		}, stat(func(s cleaner.Stats) float64 { return float64(s.Uncleanable) }))),
		registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sluice_log_cleaner_last_run_seconds", Help: "Duration of the last completed log cleaning.",
		}, stat(func(s cleaner.Stats) float64 { return s.LastRunSeconds }))),
	); err != nil {
		return nil, err
	}
	c.Start()
	return c, nil
}
