package commitlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/checkpoint"
	"github.com/sluice-mq/sluice/storage/epochcache"
	"github.com/sluice-mq/sluice/storage/segment"
)

// Names of the files a log directory holds besides its segments.
const (
	// OffsetsCheckpointFile holds the high watermark, recovery point and
	// log start offset (storage/checkpoint format).
	OffsetsCheckpointFile = "offsets.checkpoint"
	// CleanShutdownFile exists only while the log is closed cleanly.
	CleanShutdownFile = ".clean-shutdown"
)

// Keys of the offsets checkpoint.
const (
	keyHighWatermark  = "high_watermark"
	keyRecoveryPoint  = "recovery_point"
	keyLogStartOffset = "log_start_offset"
)

// Log is one partition's log: an ordered list of segments of which the
// last one, the active segment, takes appends. It is safe for concurrent
// use.
//
// Lock order: flushMu, then mu. Appends and reads take only mu (reads
// shared), so they proceed while an fsync runs under flushMu alone.
type Log struct {
	dir  string
	cfg  Config
	opts options

	// flushMu serialises fsyncs with operations that close or cut files
	// (truncation, retention, Close).
	flushMu sync.Mutex

	mu sync.RWMutex // guards the fields below
	// Invariant: len(segments) >= 1, ordered by base offset; the last is
	// active. logStart <= hw <= LEO, recoveryPoint <= LEO.
	segments      []*segment.Segment
	logStart      int64
	hw            int64
	recoveryPoint int64
	activeSince   time.Time // when the active segment was created or opened
	dirDirty      bool      // files were created or removed since the last directory fsync
	epochs        *epochcache.Cache
	waiters       []waiter
	closing       bool // Close has begun: no more writes
	closed        bool
	failed        error // a *FailedError once the log failed

	ownFlusher  bool
	flushQueued atomic.Bool
	stats       OpenStats
	// saved is what the offsets checkpoint on disk holds (guarded by
	// flushMu, like every checkpoint write).
	saved savedOffsets
}

// OpenStats says how Open found the log.
type OpenStats struct {
	// Clean is true when the previous Close was clean and no segment was
	// scanned.
	Clean bool
	// SegmentsScanned counts segments verified, in full or (the one
	// holding the recovery point) from the recovery point on.
	SegmentsScanned int
	// BytesScanned counts the log bytes read and verified: after a crash
	// the bytes written since the last checkpointed recovery point.
	BytesScanned int64
	// BytesTruncated counts bytes cut from torn or corrupt tails,
	// including deleted segments after the damage.
	BytesTruncated int64
	// SegmentsDeleted counts segments removed because they followed
	// damage.
	SegmentsDeleted int
}

// Open opens the log in dir, creating the directory if needed. After an
// unclean stop it verifies every segment from the recovery point on and
// cuts a torn or corrupt tail with everything after it.
func Open(dir string, cfg Config, opts ...Option) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	l := &Log{dir: dir, cfg: cfg.withDefaults(), opts: options{now: time.Now}}
	for _, o := range opts {
		o(&l.opts)
	}
	if err := prepareDir(dir); err != nil {
		l.reportOpenFailure(err)
		return nil, err
	}
	if err := l.load(); err != nil {
		for _, s := range l.segments {
			_ = s.Close() // the load error is the one worth reporting
		}
		l.reportOpenFailure(err)
		return nil, err
	}
	needsFlusher := l.cfg.FlushPolicy == FlushInterval || (l.cfg.FlushPolicy == FlushAlways && l.opts.handoff)
	if needsFlusher && l.opts.flusher == nil {
		l.opts.flusher = NewFlusher(l.cfg.FlushInterval)
		l.ownFlusher = true
	}
	if l.opts.flusher != nil {
		l.opts.flusher.register(l)
	}
	return l, nil
}

// reportOpenFailure tells the failure handler that Open met err.
func (l *Log) reportOpenFailure(err error) {
	if h := l.opts.onFailure; h != nil {
		h(&FailedError{Dir: l.dir, Op: "open", Err: err})
	}
}

// failLocked fails the log: op met the I/O error err. The first failure
// is kept, reported to the failure handler and returned by every later
// write. Callers hold mu.
func (l *Log) failLocked(op string, err error) error {
	if l.failed == nil {
		f := &FailedError{Dir: l.dir, Op: op, Err: err}
		l.failed = f
		if h := l.opts.onFailure; h != nil {
			h(f)
		}
	}
	return l.failed
}

// fail is failLocked for callers not holding mu.
func (l *Log) fail(op string, err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failLocked(op, err)
}

// Fail fails the log as a write error would, with cause: it refuses
// writes from then on and closes without fsync or clean-shutdown marker,
// so the next Open recovers it. A node fails every log of a directory
// another log of which failed. It returns the log's failure (an earlier
// one if it had failed already).
func (l *Log) Fail(cause error) error { return l.fail("failed by owner", cause) }

// Failed returns the log's failure (a *FailedError), or nil.
func (l *Log) Failed() error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.failed
}

func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &DirError{Path: dir, Err: err}
	}
	st, err := os.Stat(dir)
	if err != nil {
		return &DirError{Path: dir, Err: err}
	}
	if !st.IsDir() {
		return &DirError{Path: dir, Err: errors.New("not a directory")}
	}
	return nil
}

// load reads the checkpoints and opens or recovers every segment.
func (l *Log) load() error {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return &DirError{Path: l.dir, Err: err}
	}
	if changed, err := recoverSwaps(l.dir, entries, l.segOptions()); err != nil {
		return err
	} else if changed {
		if entries, err = os.ReadDir(l.dir); err != nil {
			return &DirError{Path: l.dir, Err: err}
		}
	}
	marker := filepath.Join(l.dir, CleanShutdownFile)
	_, statErr := os.Stat(marker)
	clean := statErr == nil
	if clean {
		// From here on a crash must be treated as unclean.
		if err := os.Remove(marker); err != nil {
			return &DirError{Path: l.dir, Err: err}
		}
		if err := l.syncDir(); err != nil {
			return &DirError{Path: l.dir, Err: err}
		}
	}
	offsets, err := checkpoint.ReadOffsets(filepath.Join(l.dir, OffsetsCheckpointFile))
	if err != nil {
		// A missing or unreadable checkpoint costs a full scan, not data.
		offsets, clean = map[string]int64{}, false
		l.saved = savedOffsets{hw: -1, recoveryPoint: -1, logStart: -1}
	} else {
		l.saved = savedOffsets{hw: offsets[keyHighWatermark], recoveryPoint: offsets[keyRecoveryPoint], logStart: offsets[keyLogStartOffset]}
	}
	for _, name := range []string{OffsetsCheckpointFile, LeaderEpochCheckpointFile} {
		if err := checkpoint.CleanTemp(filepath.Join(l.dir, name)); err != nil {
			return &DirError{Path: l.dir, Err: err}
		}
	}
	bases, err := l.listSegments(entries)
	if err != nil {
		return err
	}
	recoveryPoint := offsets[keyRecoveryPoint]
	rebuildEpochs, err := l.loadEpochs()
	if err != nil {
		return err
	}
	rec := &epochRecorder{from: -1}
	if err := l.openSegments(bases, clean, recoveryPoint, rebuildEpochs, rec); err != nil {
		return err
	}
	l.stats.Clean = clean && l.stats.SegmentsScanned == 0
	if len(l.segments) == 0 {
		start := max(offsets[keyLogStartOffset], 0)
		s, err := segment.Create(l.dir, start, l.segOptions())
		if err != nil {
			return err
		}
		l.segments = append(l.segments, s)
		l.dirDirty = true
	}
	leo := l.leo()
	l.logStart = min(max(offsets[keyLogStartOffset], l.segments[0].BaseOffset()), leo)
	l.recoveryPoint = min(recoveryPoint, leo)
	if !l.stats.Clean {
		// Everything that survived the scan is now known good; make it
		// durable so the next recovery can start from here.
		if err := l.syncAllLocked(); err != nil {
			return err
		}
		l.recoveryPoint = leo
	}
	l.hw = min(max(offsets[keyHighWatermark], l.logStart), leo)
	l.activeSince = l.opts.now()
	if err := l.applyRecovered(rec); err != nil {
		return err
	}
	return l.releaseAllLocked()
}

// listSegments returns the base offsets of the .log files in the
// directory and removes index files without a log.
func (l *Log) listSegments(entries []os.DirEntry) ([]int64, error) {
	logs := map[int64]bool{}
	var orphans []string
	for _, e := range entries {
		name := e.Name()
		base, suffix, ok := parseSegmentName(name)
		if !ok {
			continue
		}
		if suffix == segment.LogSuffix {
			logs[base] = true
		} else {
			orphans = append(orphans, name)
		}
	}
	for _, name := range orphans {
		base, _, _ := parseSegmentName(name)
		if !logs[base] {
			if err := os.Remove(filepath.Join(l.dir, name)); err != nil {
				return nil, fmt.Errorf("commitlog: remove orphan %s: %w", name, err)
			}
		}
	}
	bases := make([]int64, 0, len(logs))
	for b := range logs {
		bases = append(bases, b)
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases, nil
}

// parseSegmentName splits "<20 digits><suffix>".
func parseSegmentName(name string) (int64, string, bool) {
	if len(name) < 21 {
		return 0, "", false
	}
	suffix := name[20:]
	if suffix != segment.LogSuffix && suffix != segment.IndexSuffix && suffix != segment.TimeIndexSuffix {
		return 0, "", false
	}
	if strings.Trim(name[:20], "0123456789") != "" {
		return 0, "", false
	}
	base, err := strconv.ParseInt(name[:20], 10, 64)
	return base, suffix, err == nil
}

// openSegments opens every segment, trusting the indexes of those known
// durable and verifying the others. Damage cuts the log there. The epochs
// of scanned segments (of all segments if allEpochs) go to rec.
func (l *Log) openSegments(bases []int64, clean bool, recoveryPoint int64, allEpochs bool, rec *epochRecorder) error {
	for i, base := range bases {
		last := i == len(bases)-1
		trusted := clean || (!last && bases[i+1] <= recoveryPoint)
		opts := l.segOptions()
		opts.LazyIndex = !last // closed segments keep their indexes on disk
		s, err := segment.Open(l.dir, base, opts)
		if err != nil && !errors.Is(err, segment.ErrCorruptIndex) {
			return err
		}
		damaged := false
		if !trusted || err != nil {
			note := func(h batch.Header) { rec.note(h) }
			var res segment.RecoverResult
			var rerr error
			if !clean && !allEpochs && base < recoveryPoint {
				// The part below the recovery point was fsynced before it
				// was checkpointed: verify only what follows.
				res, rerr = s.RecoverFrom(recoveryPoint, int64(l.cfg.MaxBatchBytes), note)
			} else {
				res, rerr = s.Recover(int64(l.cfg.MaxBatchBytes), note)
			}
			if rerr != nil {
				_ = s.Close()
				return rerr
			}
			l.stats.SegmentsScanned++
			l.stats.BytesScanned += res.ScannedBytes
			l.stats.BytesTruncated += res.TruncatedBytes
			damaged = res.Err != nil
			if !last && !damaged {
				if err := s.ReleaseIndex(); err != nil {
					_ = s.Close()
					return err
				}
			}
		} else if allEpochs {
			if err := s.ForEachBatch(func(_ int64, h batch.Header) error { rec.note(h); return nil }); err != nil {
				_ = s.Close()
				return err
			}
		}
		if n := len(l.segments); n > 0 && s.BaseOffset() < l.segments[n-1].NextOffset() {
			// Overlapping offsets: the segment cannot follow its
			// predecessor, so it and everything after it go.
			return l.deleteFrom(bases[i:], s)
		}
		l.segments = append(l.segments, s)
		if damaged && i+1 < len(bases) {
			return l.deleteFrom(bases[i+1:], nil)
		}
	}
	return nil
}

// deleteFrom removes the segments with the given bases; open is the
// already opened first one, if any.
func (l *Log) deleteFrom(bases []int64, open *segment.Segment) error {
	for j, base := range bases {
		s := open
		if j > 0 || s == nil {
			var err error
			opts := l.segOptions()
			opts.LazyIndex = true
			s, err = segment.Open(l.dir, base, opts)
			if err != nil && !errors.Is(err, segment.ErrCorruptIndex) {
				return err
			}
		}
		if st, err := os.Stat(s.Path()); err == nil {
			l.stats.BytesTruncated += st.Size()
		}
		if err := s.Delete(); err != nil {
			return err
		}
		l.stats.SegmentsDeleted++
	}
	l.dirDirty = true
	return nil
}

func (l *Log) segOptions() segment.Options {
	return segment.Options{IndexIntervalBytes: l.cfg.IndexIntervalBytes, FS: l.opts.fs}
}

// active returns the segment that takes appends.
func (l *Log) active() *segment.Segment { return l.segments[len(l.segments)-1] }

// leo is the log end offset; callers hold mu.
func (l *Log) leo() int64 { return l.active().NextOffset() }

// syncDir fsyncs the log's directory so created, renamed and removed
// entries are durable.
func (l *Log) syncDir() error { return checkpoint.SyncDir(l.opts.fs, l.dir) }
