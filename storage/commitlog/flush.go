package commitlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sluice-mq/sluice/storage/checkpoint"
	"github.com/sluice-mq/sluice/storage/segment"
)

// waiter is a pending AwaitDurable call.
type waiter struct {
	offset int64
	done   func(error)
}

// AwaitDurable calls done once every record up to and including offset is
// fsynced: at once (in the caller's goroutine) if it already is, else from
// the goroutine that completes the fsync — the Flusher's with
// FlushInterval, the next Flush or Close otherwise. done gets ErrClosed if
// the log closes first and the fsync error if one fails. done must not
// block.
func (l *Log) AwaitDurable(offset int64, done func(error)) {
	l.mu.Lock()
	if l.recoveryPoint > offset {
		l.mu.Unlock()
		done(nil)
		return
	}
	if l.closed {
		l.mu.Unlock()
		done(ErrClosed)
		return
	}
	if err := l.failed; err != nil {
		l.mu.Unlock()
		done(err)
		return
	}
	l.waiters = append(l.waiters, waiter{offset: offset, done: done})
	f := l.opts.flusher
	l.mu.Unlock()
	if f != nil {
		l.queueFlush()
	}
}

// queueFlush asks the flusher to sync this log once; it never blocks.
func (l *Log) queueFlush() {
	if f := l.opts.flusher; f != nil && l.flushQueued.CompareAndSwap(false, true) {
		if !f.schedule(l) {
			l.flushQueued.Store(false)
		}
	}
}

// syncData fsyncs every dirty segment and advances the recovery point to
// the log end offset seen before the fsync, then completes the waiters it
// covers. Appends and reads proceed during the fsync.
func (l *Log) syncData() error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	return l.syncDataLocked()
}

// syncDataLocked is syncData for callers holding flushMu.
func (l *Log) syncDataLocked() error {
	l.flushQueued.Store(false)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if err := l.failed; err != nil {
		// After a failed write or fsync a later fsync proves nothing.
		waiters := l.waiters
		l.waiters = nil
		l.mu.Unlock()
		for _, w := range waiters {
			w.done(err)
		}
		return err
	}
	target := l.leo()
	if target <= l.recoveryPoint && !l.dirDirty && !l.anyDirtyLocked() {
		l.mu.Unlock()
		return nil
	}
	var tokens []segment.SyncToken
	var err error
	for _, s := range l.segments {
		if !s.Dirty() {
			continue
		}
		t, perr := s.PrepareSync()
		if perr != nil {
			err = perr
			break
		}
		tokens = append(tokens, t)
	}
	syncDirNeeded := l.dirDirty
	l.dirDirty = false
	l.mu.Unlock()

	if err == nil && syncDirNeeded {
		err = syncDir(l.dir)
	}
	for _, t := range tokens {
		if err != nil {
			break
		}
		err = t.SyncFiles()
	}

	l.mu.Lock()
	var done []waiter
	if err != nil {
		// After a failed fsync the kernel may have dropped the dirty
		// pages: nothing written since the last good sync can be trusted.
		l.dirDirty = l.dirDirty || syncDirNeeded
		l.failed = fmt.Errorf("%w: %w", ErrLogFailed, err)
		done, l.waiters = l.waiters, nil
	} else {
		for _, t := range tokens {
			t.MarkSynced()
		}
		l.recoveryPoint = max(l.recoveryPoint, target)
		keep := l.waiters[:0]
		for _, w := range l.waiters {
			if w.offset < l.recoveryPoint {
				done = append(done, w)
			} else {
				keep = append(keep, w)
			}
		}
		l.waiters = keep
	}
	l.mu.Unlock()
	for _, w := range done {
		w.done(err)
	}
	return err
}

func (l *Log) anyDirtyLocked() bool {
	for _, s := range l.segments {
		if s.Dirty() {
			return true
		}
	}
	return false
}

// syncAllLocked fsyncs every changed segment and the directory during
// Open.
func (l *Log) syncAllLocked() error {
	for _, s := range l.segments {
		if !s.Dirty() {
			continue
		}
		if err := s.Sync(); err != nil {
			return err
		}
	}
	if err := syncDir(l.dir); err != nil {
		return &DirError{Path: l.dir, Err: err}
	}
	l.dirDirty = false
	return nil
}

// Flush fsyncs every dirty segment, advances the recovery point and
// writes the offsets checkpoint (high watermark, recovery point, log start
// offset).
func (l *Log) Flush() error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	if err := l.syncDataLocked(); err != nil {
		return err
	}
	return l.writeCheckpoint()
}

// writeCheckpoint writes the offsets checkpoint; callers hold flushMu.
func (l *Log) writeCheckpoint() error {
	l.mu.RLock()
	offsets := map[string]int64{
		keyHighWatermark:  l.hw,
		keyRecoveryPoint:  l.recoveryPoint,
		keyLogStartOffset: l.logStart,
	}
	l.mu.RUnlock()
	if err := checkpoint.WriteOffsets(filepath.Join(l.dir, OffsetsCheckpointFile), offsets); err != nil {
		return fmt.Errorf("commitlog: checkpoint: %w", err)
	}
	return nil
}

// Close flushes the log, closes its files and, if all of that worked,
// leaves a clean-shutdown marker so the next Open skips recovery. Pending
// AwaitDurable calls complete; later calls to the log return ErrClosed.
func (l *Log) Close() error {
	l.flushMu.Lock()
	err := l.closeLocked()
	l.flushMu.Unlock()
	if l.ownFlusher {
		l.opts.flusher.Close()
	}
	return err
}

func (l *Log) closeLocked() error {
	l.mu.Lock()
	closed, failed := l.closed, l.failed
	// From here on appends fail, so the final sync covers everything.
	l.closing = true
	l.mu.Unlock()
	if closed {
		return nil
	}
	var errs []error
	if failed == nil {
		if err := l.syncDataLocked(); err != nil {
			errs = append(errs, err)
		} else if err := l.writeCheckpoint(); err != nil {
			errs = append(errs, err)
		}
	}
	l.mu.Lock()
	l.closed = true
	for _, s := range l.segments {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	waiters := l.waiters
	l.waiters = nil
	l.mu.Unlock()
	for _, w := range waiters {
		w.done(ErrClosed)
	}
	if len(errs) == 0 && failed == nil {
		if err := writeMarker(l.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// writeMarker creates the clean-shutdown marker durably.
func writeMarker(dir string) error {
	f, err := os.Create(filepath.Join(dir, CleanShutdownFile))
	if err != nil {
		return fmt.Errorf("commitlog: clean-shutdown marker: %w", err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("commitlog: clean-shutdown marker: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("commitlog: clean-shutdown marker: %w", err)
	}
	return nil
}

// Delete closes the log and removes its directory with everything in it.
func (l *Log) Delete() error {
	err := l.Close()
	if rerr := os.RemoveAll(l.dir); rerr != nil {
		return errors.Join(err, fmt.Errorf("commitlog: delete: %w", rerr))
	}
	return nil
}
