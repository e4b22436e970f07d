package commitlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sluice-mq/sluice/storage/checkpoint"
	"github.com/sluice-mq/sluice/storage/segment"
	"github.com/sluice-mq/sluice/storage/vfs"
)

// waiter is a pending AwaitDurable call.
type waiter struct {
	offset int64
	done   func(error)
}

// AwaitDurable calls done once every record up to and including offset is
// fsynced: at once (in the caller's goroutine) if it already is, else from
// the goroutine that completes the fsync — the Flusher's with
// FlushInterval, the next Flush or Close otherwise — with no lock of the
// log held. done gets ErrClosed if the log closes first and the fsync
// error if one fails. done should not block: with a shared Flusher it
// delays other logs' completions.
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
	c, err := l.syncDataLocked()
	l.flushMu.Unlock()
	c.run()
	return err
}

// completion is a set of AwaitDurable callbacks to run once no lock is
// held, so that they may call back into the log.
type completion struct {
	waiters []waiter
	err     error
}

func (c completion) run() {
	for _, w := range c.waiters {
		w.done(c.err)
	}
}

// syncDataLocked is syncData for callers holding flushMu; the caller runs
// the returned completion after releasing flushMu.
func (l *Log) syncDataLocked() (completion, error) {
	l.flushQueued.Store(false)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return completion{}, ErrClosed
	}
	if err := l.failed; err != nil {
		// After a failed write or fsync a later fsync proves nothing.
		c := completion{waiters: l.waiters, err: err}
		l.waiters = nil
		l.mu.Unlock()
		return c, err
	}
	target := l.leo()
	if target <= l.recoveryPoint && !l.dirDirty && !l.anyDirtyLocked() {
		l.mu.Unlock()
		return completion{}, nil
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

	if hook := l.opts.beforeSync; hook != nil && err == nil && len(tokens) > 0 {
		hook()
	}
	started := time.Now()
	if err == nil && syncDirNeeded {
		err = l.syncDir()
	}
	for _, t := range tokens {
		if err != nil {
			break
		}
		err = t.SyncFiles()
	}
	if fn := l.opts.onSync; fn != nil && err == nil && (syncDirNeeded || len(tokens) > 0) {
		fn(time.Since(started))
	}

	l.mu.Lock()
	var done []waiter
	if err != nil {
		// After a failed fsync the kernel may have dropped the dirty
		// pages: nothing written since the last good sync can be trusted.
		l.dirDirty = l.dirDirty || syncDirNeeded
		err = l.failLocked("fsync", err)
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
	return completion{waiters: done, err: err}, err
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
	if err := l.syncDir(); err != nil {
		return &DirError{Path: l.dir, Err: err}
	}
	l.dirDirty = false
	return nil
}

// Flush fsyncs every dirty segment, advances the recovery point and
// writes the offsets checkpoint (high watermark, recovery point, log start
// offset) unless the one on disk holds the same offsets.
func (l *Log) Flush() error {
	l.flushMu.Lock()
	c, err := l.syncDataLocked()
	if err == nil && l.checkpointMoved() {
		// The checkpoint on disk already says the same otherwise.
		err = l.writeCheckpoint()
	}
	l.flushMu.Unlock()
	c.run()
	return err
}

// writeCheckpoint writes the offsets checkpoint and remembers what it
// wrote; callers hold flushMu.
func (l *Log) writeCheckpoint() error {
	l.mu.RLock()
	offsets := map[string]int64{
		keyHighWatermark:  l.hw,
		keyRecoveryPoint:  l.recoveryPoint,
		keyLogStartOffset: l.logStart,
	}
	saved := savedOffsets{hw: l.hw, recoveryPoint: l.recoveryPoint, logStart: l.logStart}
	l.mu.RUnlock()
	if err := checkpoint.WriteOffsetsFS(l.opts.fs, filepath.Join(l.dir, OffsetsCheckpointFile), offsets); err != nil {
		// The old checkpoint is still in place, but a disk that cannot
		// write a small file cannot be trusted with the log.
		return l.fail("checkpoint", err)
	}
	l.saved = saved
	return nil
}

// checkpointMoved reports whether the offsets differ from the
// checkpoint on disk (l.saved).
func (l *Log) checkpointMoved() bool {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return savedOffsets{hw: l.hw, recoveryPoint: l.recoveryPoint, logStart: l.logStart} != l.saved
}

// Close flushes the log, closes its files and, if all of that worked,
// leaves a clean-shutdown marker so the next Open skips recovery. Pending
// AwaitDurable calls complete; later calls to the log return ErrClosed.
func (l *Log) Close() error {
	if f := l.opts.flusher; f != nil {
		f.unregister(l)
	}
	l.flushMu.Lock()
	cs, err := l.closeLocked()
	l.flushMu.Unlock()
	for _, c := range cs {
		c.run()
	}
	if l.ownFlusher {
		l.opts.flusher.Close()
	}
	return err
}

func (l *Log) closeLocked() ([]completion, error) {
	l.mu.Lock()
	closed, failed := l.closed, l.failed
	// From here on appends fail, so the final sync covers everything.
	l.closing = true
	l.mu.Unlock()
	if closed {
		return nil, nil
	}
	var errs []error
	var synced completion
	if failed == nil {
		var err error
		if synced, err = l.syncDataLocked(); err != nil {
			errs = append(errs, err)
		} else if l.checkpointMoved() {
			// An unchanged checkpoint is on disk already: an idle node
			// of 10,000 partitions stops without rewriting them all.
			if err := l.writeCheckpoint(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	l.mu.Lock()
	l.closed = true
	for _, s := range l.segments {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	rest := completion{waiters: l.waiters, err: ErrClosed}
	l.waiters = nil
	l.mu.Unlock()
	if len(errs) == 0 && failed == nil {
		if err := l.writeMarker(); err != nil {
			errs = append(errs, err)
		}
	}
	return []completion{synced, rest}, errors.Join(errs...)
}

// writeMarker creates the clean-shutdown marker durably. The marker is
// empty: the directory's fsync makes its entry (and inode) durable, so
// the file itself is not synced, which saves an fsync per partition when
// a node of thousands stops. A marker lost in a crash right after the
// close costs a recovery scan on open, never data.
func (l *Log) writeMarker() error {
	f, err := vfs.Default(l.opts.fs).OpenFile(filepath.Join(l.dir, CleanShutdownFile), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("commitlog: clean-shutdown marker: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("commitlog: clean-shutdown marker: %w", err)
	}
	if err := l.syncDir(); err != nil {
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
