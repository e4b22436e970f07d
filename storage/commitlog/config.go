package commitlog

import (
	"fmt"
	"math"
	"time"

	"github.com/sluice-mq/sluice/storage/vfs"
)

// FlushPolicy says when appended data is fsynced.
type FlushPolicy int

const (
	// FlushNever fsyncs only on Flush and Close and relies on replication
	// for durability (Kafka's default).
	FlushNever FlushPolicy = iota
	// FlushInterval hands fsync to a group-commit Flusher: one fsync covers
	// every append queued while the previous one ran, with at most one
	// fsync round per FlushInterval window.
	FlushInterval
	// FlushAlways fsyncs before Append returns. Concurrent appends share
	// an fsync when they overlap.
	FlushAlways
)

func (p FlushPolicy) String() string {
	switch p {
	case FlushNever:
		return "never"
	case FlushInterval:
		return "interval"
	case FlushAlways:
		return "always"
	}
	return fmt.Sprintf("FlushPolicy(%d)", int(p))
}

// ParseFlushPolicy maps "never", "interval" and "always" to a FlushPolicy.
func ParseFlushPolicy(s string) (FlushPolicy, error) {
	for _, p := range []FlushPolicy{FlushNever, FlushInterval, FlushAlways} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown flush policy %q", ErrInvalidConfig, s)
}

// Defaults applied to zero Config fields.
const (
	DefaultSegmentBytes       int64         = 1 << 30
	DefaultSegmentAge         time.Duration = 7 * 24 * time.Hour
	DefaultRetentionAge       time.Duration = 7 * 24 * time.Hour
	DefaultMaxBatchBytes      int32         = 1048588 // Kafka's message.max.bytes: 1 MiB + overhead
	DefaultIndexIntervalBytes int32         = 4096
	DefaultFlushInterval      time.Duration = 2 * time.Millisecond
)

// Config tunes one partition's log. Zero values mean the documented
// defaults.
type Config struct {
	// SegmentBytes is the size past which the active segment rolls: an
	// append that would make it larger goes to a new segment. 0 means
	// 1 GiB; at most math.MaxInt32 (positions in the index are 32-bit).
	SegmentBytes int64
	// SegmentAge rolls the active segment when its first batch's timestamp
	// is older than this. 0 means 7 days.
	SegmentAge time.Duration
	// RetentionAge deletes closed segments whose max timestamp is older
	// than this. 0 means 7 days; negative keeps data forever.
	RetentionAge time.Duration
	// RetentionBytes deletes the oldest closed segments while the log
	// would stay at least this big without them. <= 0 means unlimited.
	RetentionBytes int64
	// MaxBatchBytes refuses larger batches. 0 means 1048588 (Kafka's
	// default message.max.bytes).
	MaxBatchBytes int32
	// IndexIntervalBytes is the log distance between offset index
	// entries. 0 means 4096.
	IndexIntervalBytes int32
	// FlushPolicy says when appends are fsynced; the zero value is
	// FlushNever.
	FlushPolicy FlushPolicy
	// FlushInterval is the group-commit window of FlushInterval: the
	// Flusher starts at most one fsync round per window. 0 means 2ms.
	FlushInterval time.Duration
}

// DefaultConfig returns a Config with every default spelled out.
func DefaultConfig() Config {
	return Config{}.withDefaults()
}

func (c Config) withDefaults() Config {
	if c.SegmentBytes == 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	if c.SegmentAge == 0 {
		c.SegmentAge = DefaultSegmentAge
	}
	if c.RetentionAge == 0 {
		c.RetentionAge = DefaultRetentionAge
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if c.IndexIntervalBytes == 0 {
		c.IndexIntervalBytes = DefaultIndexIntervalBytes
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	return c
}

// Validate reports the first invalid field, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.SegmentBytes < 0 || c.SegmentBytes > math.MaxInt32:
		return fmt.Errorf("%w: SegmentBytes %d not in [0, %d]", ErrInvalidConfig, c.SegmentBytes, math.MaxInt32)
	case c.SegmentAge < 0:
		return fmt.Errorf("%w: negative SegmentAge %v", ErrInvalidConfig, c.SegmentAge)
	case c.MaxBatchBytes < 0:
		return fmt.Errorf("%w: negative MaxBatchBytes %d", ErrInvalidConfig, c.MaxBatchBytes)
	case c.IndexIntervalBytes < 0:
		return fmt.Errorf("%w: negative IndexIntervalBytes %d", ErrInvalidConfig, c.IndexIntervalBytes)
	case c.FlushPolicy < FlushNever || c.FlushPolicy > FlushAlways:
		return fmt.Errorf("%w: unknown %v", ErrInvalidConfig, c.FlushPolicy)
	case c.FlushInterval < 0:
		return fmt.Errorf("%w: negative FlushInterval %v", ErrInvalidConfig, c.FlushInterval)
	}
	return nil
}

// Option sets an optional dependency of a Log.
type Option func(*options)

type options struct {
	flusher    *Flusher
	now        func() time.Time
	handoff    bool
	beforeSync func()
	onSync     func(time.Duration)
	fs         vfs.FS
	onFailure  func(*FailedError)
}

// WithFailureHandler makes the log call fn once, when it fails: a write,
// fsync, rename or delete of its files returned an error (the log refuses
// writes from then on), or Open met an I/O error. The owner learns of a
// failing disk this way (a node takes the log directory offline). fn runs
// in the goroutine that met the error, possibly with the log's lock held:
// it must not block or call the log.
func WithFailureHandler(fn func(*FailedError)) Option {
	return func(o *options) { o.onFailure = fn }
}

// WithFS makes the log's segments use fsys for their files (the
// operating system when not given); tests inject faults with vfs.Faulty.
func WithFS(fsys vfs.FS) Option { return func(o *options) { o.fs = fsys } }

// WithSyncHandoff makes a FlushAlways log hand its fsyncs to the Flusher
// (the one of WithFlusher, else one of its own) instead of running them
// in Append: Append returns once the data is written, the Flusher fsyncs
// it at once, without waiting for a window, appends queued meanwhile
// sharing the fsync, and AwaitDurable says when it is done. A caller that
// must not block on disk (an actor) uses it and acknowledges writes from
// AwaitDurable.
func WithSyncHandoff() Option { return func(o *options) { o.handoff = true } }

// WithBeforeSync runs fn before each fsync of segment data (group commit,
// Flush, truncation), in the goroutine about to fsync. For tests and
// fault injection: a slow fn is a slow disk.
func WithBeforeSync(fn func()) Option { return func(o *options) { o.beforeSync = fn } }

// WithSyncObserver has fn told how long each successful fsync round of
// segment data took (the segments' files and, when it changed, the
// directory), in the goroutine that ran it. fn must not block.
func WithSyncObserver(fn func(time.Duration)) Option { return func(o *options) { o.onSync = fn } }

// WithFlusher makes the log hand its fsyncs to f (shared by every log of
// a node) when its policy is FlushInterval. Without it such a log starts
// a Flusher of its own, stopped by Close.
func WithFlusher(f *Flusher) Option { return func(o *options) { o.flusher = f } }

// WithClock replaces time.Now for age-based rolling on append.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }
