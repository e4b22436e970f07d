package commitlog

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/checkpoint"
	"github.com/sluice-mq/sluice/storage/epochcache"
)

// LeaderEpochCheckpointFile holds the leader-epoch cache (storage/epochcache
// format).
const LeaderEpochCheckpointFile = "leader-epoch.checkpoint"

// AssignEpoch records that leader epoch epoch starts at startOffset, as a
// new leader does before its first append. Appends record the epochs of
// their batches themselves. It follows epochcache.Cache.Assign: the latest
// epoch again is a no-op, going backwards fails with an error wrapping
// epochcache.ErrNonMonotonic. The cache is checkpointed before it returns.
func (l *Log) AssignEpoch(epoch int32, startOffset int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writableLocked(); err != nil {
		return err
	}
	before := l.epochs.Len()
	if err := l.epochs.Assign(epoch, startOffset); err != nil {
		return fmt.Errorf("commitlog: %w", err)
	}
	if l.epochs.Len() == before {
		if e, s, _ := l.epochs.Latest(); e != epoch || s != startOffset {
			return nil
		}
	}
	return l.saveEpochsLocked()
}

// LatestEpoch is the newest leader epoch in the cache, -1 if none.
func (l *Log) LatestEpoch() int32 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.latestEpochLocked()
}

func (l *Log) latestEpochLocked() int32 {
	e, _, ok := l.epochs.Latest()
	if !ok {
		return epochcache.Undefined
	}
	return e
}

// EndOffsetForEpoch answers a follower's OffsetsForLeaderEpoch request
// (KIP-101, KIP-279): for the latest epoch the log end offset; for an
// older one the largest cached epoch <= it and the start offset of the
// first epoch above it; (-1, -1) when epoch is above the latest or the
// cache is empty (see epochcache.Cache.EndOffsetFor).
func (l *Log) EndOffsetForEpoch(epoch int32) (foundEpoch int32, endOffset int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.epochs.EndOffsetFor(epoch, l.leo())
}

// EpochEntries returns the leader-epoch cache, oldest epoch first.
func (l *Log) EpochEntries() []epochcache.Entry {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.epochs.Entries()
}

// noteEpochLocked records the epoch of an appended batch if it is new.
func (l *Log) noteEpochLocked(h batch.Header) error {
	if h.PartitionLeaderEpoch < 0 || h.PartitionLeaderEpoch <= l.latestEpochLocked() {
		return nil
	}
	if err := l.epochs.Assign(h.PartitionLeaderEpoch, h.BaseOffset); err != nil {
		return fmt.Errorf("commitlog: %w", err)
	}
	return l.saveEpochsLocked()
}

func (l *Log) saveEpochsLocked() error {
	if err := l.epochs.SaveFS(l.opts.fs, filepath.Join(l.dir, LeaderEpochCheckpointFile)); err != nil {
		return l.failLocked("epoch checkpoint", err)
	}
	return nil
}

// truncateEpochsLocked applies a change of the log end or start to the
// cache and checkpoints it if anything changed.
func (l *Log) truncateEpochsLocked() error {
	before := l.epochs.Entries()
	l.epochs.TruncateFromEnd(l.leo())
	l.epochs.TruncateFromStart(l.logStart)
	if slices.Equal(before, l.epochs.Entries()) {
		return nil
	}
	return l.saveEpochsLocked()
}

// loadEpochs reads the epoch checkpoint; a missing or unreadable one is
// rebuilt from the batch headers of every segment.
func (l *Log) loadEpochs() (rebuild bool, err error) {
	c, err := epochcache.Load(filepath.Join(l.dir, LeaderEpochCheckpointFile))
	if err == nil {
		l.epochs = c
		return false, nil
	}
	if !errors.Is(err, checkpoint.ErrNotExist) && !errors.Is(err, checkpoint.ErrCorruptCheckpoint) {
		return false, err
	}
	l.epochs = epochcache.New()
	return true, nil
}

// epochRecorder collects epoch changes seen while recovering segments so
// they can be applied after the cache is cut back to the scanned range.
type epochRecorder struct {
	from    int64 // base offset of the first scanned batch; -1 if none
	entries []epochcache.Entry
}

func (r *epochRecorder) note(h batch.Header) {
	if r.from < 0 {
		r.from = h.BaseOffset
	}
	if n := len(r.entries); h.PartitionLeaderEpoch >= 0 && (n == 0 || h.PartitionLeaderEpoch > r.entries[n-1].Epoch) {
		r.entries = append(r.entries, epochcache.Entry{Epoch: h.PartitionLeaderEpoch, StartOffset: h.BaseOffset})
	}
}

// applyRecovered replaces the cache entries from rec.from on with the
// epochs found by the scan and checkpoints the cache if it changed.
func (l *Log) applyRecovered(rec *epochRecorder) error {
	before := l.epochs.Entries()
	if rec.from >= 0 {
		l.epochs.TruncateFromEnd(rec.from)
		for _, e := range rec.entries {
			if e.Epoch > l.latestEpochLocked() {
				if err := l.epochs.Assign(e.Epoch, e.StartOffset); err != nil {
					return fmt.Errorf("commitlog: rebuild epochs: %w", err)
				}
			}
		}
	}
	l.epochs.TruncateFromEnd(l.leo())
	l.epochs.TruncateFromStart(l.logStart)
	if slices.Equal(before, l.epochs.Entries()) {
		return nil
	}
	return l.saveEpochsLocked()
}
