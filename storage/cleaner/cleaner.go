package cleaner

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-mq/sluice/storage/checkpoint"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

// CheckpointFile is the cleaner checkpoint in the data directory: for each
// log, the offset below which it is clean.
const CheckpointFile = "cleaner-offset-checkpoint"

// Defaults of Config's zero fields.
const (
	DefaultThreads = 1
	DefaultBackoff = 15 * time.Second
	// DefaultDedupeBufferBytes is Config.DedupeBufferBytes's default.
	DefaultDedupeBufferBytes = 128 << 20
	// BytesPerKey is what the offset map costs per key (a 16-byte digest
	// and an 8-byte offset in a Go map, with its overhead).
	BytesPerKey = 64
)

// ErrClosed is returned by CleanOnce after Close.
var ErrClosed = errors.New("cleaner: closed")

// Config tunes a Cleaner.
type Config struct {
	// Dir is the data directory; the checkpoint lives there.
	Dir string
	// Threads is how many logs are cleaned at once (log.cleaner.threads);
	// 0 means DefaultThreads.
	Threads int
	// IOBytesPerSecond caps the bytes all threads read and write together
	// (log.cleaner.io.max.bytes.per.second); 0 or negative is unlimited.
	IOBytesPerSecond float64
	// Backoff is how long an idle thread waits before looking for a dirty
	// log again (log.cleaner.backoff.ms); 0 means DefaultBackoff.
	Backoff time.Duration
	// DedupeBufferBytes bounds the memory of one clean's offset map
	// (log.cleaner.dedupe.buffer.size), at about BytesPerKey per key: a
	// log with more distinct keys in its dirty part is cleaned a prefix
	// at a time. 0 means DefaultDedupeBufferBytes.
	DedupeBufferBytes int64
	// Now is the clock tombstone ages and compaction lags are measured
	// with; nil means time.Now.
	Now func() time.Time
	// Logger receives a line per clean and per uncleanable log; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Stats are the cleaner's counters since it was created.
type Stats struct {
	Runs           int64 // cleans completed
	BytesRead      int64 // segment bytes read by completed cleans (one pass)
	BytesWritten   int64 // bytes of the cleaned segments swapped in
	Uncleanable    int   // logs skipped because a segment is corrupt
	Logs           int   // logs registered
	LastRunSeconds float64
}

// Cleaner compacts the registered logs in the background. It is safe for
// concurrent use.
type Cleaner struct {
	cfg      Config
	now      func() time.Time
	maxKeys  int
	logger   *slog.Logger
	throttle *throttle

	mu      sync.Mutex
	logs    map[string]*entry
	offsets map[string]int64 // the checkpoint: name -> first dirty offset
	closed  bool
	stop    chan struct{}
	wake    chan struct{}
	workers sync.WaitGroup
	started bool
	ckptMu  sync.Mutex // serializes checkpoint writes

	// swapHook, when set by tests, runs before each group is swapped in
	// (the cleaned segments are complete) and once after the last.
	swapHook func(group int)

	runs, bytesRead, bytesWritten atomic.Int64
	lastRunNanos                  atomic.Int64
}

// entry is one registered log.
type entry struct {
	name   string
	log    *commitlog.Log
	policy Policy
	// busy is set while a thread cleans the log; done is closed when it
	// stops, cancel asks it to stop early.
	busy      bool
	done      chan struct{}
	cancel    chan struct{}
	cancelled bool
	// uncleanable is set when a clean found a corrupt segment.
	uncleanable bool
	// retryAt holds back a log whose last clean failed otherwise (for
	// example retention deleted a segment meanwhile) for one backoff, so
	// it does not starve the others.
	retryAt time.Time
	// tombstonesDue is when kept tombstones may next be dropped (zero:
	// none known), which makes the log cleanable whatever its ratio.
	tombstonesDue time.Time
}

// cancelClean stops a clean in progress; c.mu is held.
func (e *entry) cancelClean() {
	if e.busy && !e.cancelled {
		e.cancelled = true
		close(e.cancel)
	}
}

// New returns a cleaner with the checkpoint of cfg.Dir loaded. A corrupt
// checkpoint is logged and ignored: logs are then cleaned from their start.
func New(cfg Config) (*Cleaner, error) {
	if cfg.Dir == "" {
		return nil, errors.New("cleaner: no data directory")
	}
	if cfg.Threads <= 0 {
		cfg.Threads = DefaultThreads
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.DedupeBufferBytes <= 0 {
		cfg.DedupeBufferBytes = DefaultDedupeBufferBytes
	}
	c := &Cleaner{
		cfg:      cfg,
		now:      cfg.Now,
		maxKeys:  int(max(cfg.DedupeBufferBytes/BytesPerKey, 1)),
		logger:   cfg.Logger,
		throttle: &throttle{perSecond: cfg.IOBytesPerSecond},
		logs:     make(map[string]*entry),
		offsets:  make(map[string]int64),
		stop:     make(chan struct{}),
		wake:     make(chan struct{}, 1),
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if err := checkpoint.CleanTemp(cfg.Dir); err != nil {
		return nil, fmt.Errorf("cleaner: %w", err)
	}
	offsets, err := checkpoint.ReadOffsets(c.checkpointPath())
	switch {
	case err == nil:
		c.offsets = offsets
	case errors.Is(err, checkpoint.ErrNotExist):
	case errors.Is(err, checkpoint.ErrCorruptCheckpoint):
		c.logger.Warn("ignoring corrupt cleaner checkpoint; logs are cleaned from their start", "error", err)
	default:
		return nil, fmt.Errorf("cleaner: %w", err)
	}
	return c, nil
}

func (c *Cleaner) checkpointPath() string { return filepath.Join(c.cfg.Dir, CheckpointFile) }

// Start runs the cleaner threads until Close.
func (c *Cleaner) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started || c.closed {
		return
	}
	c.started = true
	for range c.cfg.Threads {
		c.workers.Add(1)
		go c.run()
	}
}

// Close stops the threads, cancelling cleans in progress (a cancelled
// clean leaves its log as it was), and waits for them.
func (c *Cleaner) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	close(c.stop)
	for _, e := range c.logs {
		e.cancelClean()
	}
	c.mu.Unlock()
	c.workers.Wait()
}

// Register adds a compacted log under name (unique per data directory,
// conventionally its directory name), or updates the policy of the log
// registered under name.
func (c *Cleaner) Register(name string, l *commitlog.Log, p Policy) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.logs[name]; ok && e.log == l {
		e.policy = p
		return
	}
	c.logs[name] = &entry{name: name, log: l, policy: p}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Unregister removes the log registered under name, cancelling a clean of
// it in progress and waiting for that clean to stop, which takes at most
// one read or write of a batch (plus a swap already under way). With
// deleted set its checkpoint entry goes too (the log was deleted).
func (c *Cleaner) Unregister(name string, deleted bool) {
	c.mu.Lock()
	var done chan struct{}
	if e, ok := c.logs[name]; ok {
		delete(c.logs, name)
		e.cancelClean()
		if e.busy {
			done = e.done
		}
	}
	if deleted {
		delete(c.offsets, name)
	}
	c.mu.Unlock()
	if done != nil {
		<-done
	}
}

// Stats returns the counters.
func (c *Cleaner) Stats() Stats {
	c.mu.Lock()
	s := Stats{Logs: len(c.logs)}
	for _, e := range c.logs {
		if e.uncleanable {
			s.Uncleanable++
		}
	}
	c.mu.Unlock()
	s.Runs = c.runs.Load()
	s.BytesRead = c.bytesRead.Load()
	s.BytesWritten = c.bytesWritten.Load()
	s.LastRunSeconds = time.Duration(c.lastRunNanos.Load()).Seconds()
	return s
}

// Checkpoint returns the first dirty offset checkpointed for name, -1 when
// there is none.
func (c *Cleaner) Checkpoint(name string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if o, ok := c.offsets[name]; ok {
		return o
	}
	return -1
}

// run is one cleaner thread.
func (c *Cleaner) run() {
	defer c.workers.Done()
	for {
		cleaned, err := c.CleanOnce()
		if errors.Is(err, ErrClosed) {
			return
		}
		if cleaned {
			continue
		}
		timer := time.NewTimer(c.cfg.Backoff)
		select {
		case <-c.stop:
			timer.Stop()
			return
		case <-c.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// CleanOnce cleans the dirtiest cleanable log, if any, in the calling
// goroutine, and reports whether it cleaned one. Errors of the clean are
// logged and returned; ErrClosed means the cleaner is closed.
func (c *Cleaner) CleanOnce() (bool, error) {
	now := c.now()
	e, pl, err := c.grab(now)
	if e == nil || err != nil {
		return false, err
	}
	started := time.Now()
	res, err := c.clean(e, pl, now)
	c.release(e, pl, res, err)
	if err != nil {
		if errors.Is(err, errCancelled) {
			return false, nil
		}
		return false, err
	}
	c.runs.Add(1)
	c.bytesRead.Add(res.bytesRead)
	c.bytesWritten.Add(res.bytesWritten)
	c.lastRunNanos.Store(int64(time.Since(started)))
	c.logger.Info("cleaned log", "log", e.name, "segments", len(pl.segments), "first_dirty", pl.firstDirty,
		"end", res.end, "bytes_read", res.bytesRead, "bytes_written", res.bytesWritten,
		"records_kept", res.recordsKept, "records_read", res.recordsRead, "tombstones_dropped", res.tombstonesDropped,
		"elapsed", time.Since(started))
	return true, nil
}

// grab picks the dirtiest cleanable log that no thread is cleaning and
// marks it busy.
func (c *Cleaner) grab(now time.Time) (*entry, plan, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, plan{}, ErrClosed
	}
	var best *entry
	var bestPlan plan
	bestScore := -1.0
	for _, e := range c.logs {
		if e.busy || e.uncleanable || time.Now().Before(e.retryAt) {
			continue
		}
		first, ok := c.offsets[e.name]
		if !ok {
			first = -1
		}
		end := e.log.HighWatermark()
		if e.policy.StableEnd != nil {
			end = min(end, e.policy.StableEnd())
		}
		pl := makePlan(e.log.Segments(), end, first, now, e.policy)
		score := pl.ratio()
		switch {
		case pl.cleanable(e.policy):
			if pl.overdue {
				score += 1
			}
		case !e.tombstonesDue.IsZero() && !now.Before(e.tombstonesDue) && len(pl.segments) > 0:
			// Only tombstones to drop: least urgent.
			score = 0
		default:
			continue
		}
		if score > bestScore {
			best, bestPlan, bestScore = e, pl, score
		}
	}
	if best == nil {
		return nil, plan{}, nil
	}
	best.busy = true
	best.done = make(chan struct{})
	best.cancel = make(chan struct{})
	best.cancelled = false
	return best, bestPlan, nil
}

// release ends a clean: a successful one advances the checkpoint, a
// corrupt segment marks the log uncleanable.
func (c *Cleaner) release(e *entry, pl plan, res result, err error) {
	c.mu.Lock()
	e.busy = false
	close(e.done)
	registered := c.logs[e.name] == e
	switch {
	case err == nil && registered:
		c.offsets[e.name] = res.end
		e.tombstonesDue = res.tombstonesDue
	case errors.Is(err, errUncleanable) && registered:
		e.uncleanable = true
		c.logger.Error("log is uncleanable; skipping it until it is reopened", "log", e.name, "error", err)
	case err != nil && !errors.Is(err, errCancelled):
		e.retryAt = time.Now().Add(c.cfg.Backoff)
		c.logger.Warn("clean failed; retrying later", "log", e.name, "error", err, "retry_in", c.cfg.Backoff)
	}
	c.mu.Unlock()
	if err == nil {
		c.writeCheckpoint()
	}
}

// writeCheckpoint persists the checkpoint. A failure is logged: the log
// is clean all the same, and a stale checkpoint only makes the next clean
// read more.
func (c *Cleaner) writeCheckpoint() {
	c.ckptMu.Lock()
	defer c.ckptMu.Unlock()
	c.mu.Lock()
	snapshot := make(map[string]int64, len(c.offsets))
	for k, v := range c.offsets {
		snapshot[k] = v
	}
	c.mu.Unlock()
	if err := checkpoint.WriteOffsets(c.checkpointPath(), snapshot); err != nil {
		c.logger.Warn("write cleaner checkpoint", "error", err)
	}
}
