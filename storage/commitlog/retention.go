package commitlog

import (
	"errors"
	"os"
	"time"

	"github.com/sluice-mq/sluice/storage/segment"
)

// Roll closes the active segment to appends and starts a new one at the
// log end offset. It does nothing when the active segment is empty.
func (l *Log) Roll() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writableLocked(); err != nil {
		return err
	}
	if l.active().Size() == 0 {
		return nil
	}
	return l.rollLocked()
}

// MaybeRoll rolls the active segment if it is older than SegmentAge at
// now (see Config.SegmentAge); a timer calls it so idle logs roll too.
func (l *Log) MaybeRoll(now time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writableLocked(); err != nil {
		return false, err
	}
	if !l.agedLocked(now.UnixMilli()) {
		return false, nil
	}
	return true, l.rollLocked()
}

// EnforceRetention deletes the oldest closed segments that are past
// RetentionAge (by their max timestamp) or that RetentionBytes lets go,
// and advances the log start offset past them. Only segments that lie
// entirely below the high watermark are deleted, and never the active
// one.
func (l *Log) EnforceRetention(now time.Time) (int, error) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	var total int64
	for _, s := range l.segments {
		total += s.Size()
	}
	n := 0
	for ; n < len(l.segments)-1; n++ {
		s, next := l.segments[n], l.segments[n+1]
		if next.BaseOffset() > l.hw {
			break
		}
		expired := l.cfg.RetentionAge >= 0 && segmentTime(s) < now.Add(-l.cfg.RetentionAge).UnixMilli()
		tooBig := l.cfg.RetentionBytes > 0 && total-s.Size() >= l.cfg.RetentionBytes
		if !expired && !tooBig {
			break
		}
		total -= s.Size()
	}
	doomed, err := l.dropSegmentsLocked(n)
	l.mu.Unlock()
	if derr := deleteSegments(doomed); derr != nil {
		err = errors.Join(err, l.fail("delete segments", derr))
	}
	return len(doomed), err
}

// segmentTime is the time retention judges a segment by: its max
// timestamp, or the log file's modification time if it has none.
func segmentTime(s *segment.Segment) int64 {
	if ts := s.MaxTimestamp(); ts >= 0 {
		return ts
	}
	if st, err := os.Stat(s.Path()); err == nil {
		return st.ModTime().UnixMilli()
	}
	return 0
}

// dropSegmentsLocked removes the first n segments from the log, advances
// the log start offset and returns them for deletion once mu is released.
func (l *Log) dropSegmentsLocked(n int) ([]*segment.Segment, error) {
	if n == 0 {
		return nil, nil
	}
	doomed := append([]*segment.Segment(nil), l.segments[:n]...)
	l.segments = append(l.segments[:0:0], l.segments[n:]...)
	l.dirDirty = true
	l.logStart = max(l.logStart, l.segments[0].BaseOffset())
	l.hw = max(l.hw, l.logStart)
	l.recoveryPoint = max(l.recoveryPoint, l.logStart)
	return doomed, l.truncateEpochsLocked()
}

func deleteSegments(segs []*segment.Segment) error {
	var errs []error
	for _, s := range segs {
		errs = append(errs, s.Delete())
	}
	return errors.Join(errs...)
}

// DeleteRecordsBefore advances the log start offset to offset (Kafka's
// DeleteRecords), which may not pass the high watermark, deletes the
// segments that lie entirely below it and checkpoints the new start. It
// returns how many segments it deleted.
func (l *Log) DeleteRecordsBefore(offset int64) (int, error) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	if offset > l.hw || offset < 0 {
		err := &OffsetOutOfRangeError{Requested: offset, LogStart: l.logStart, LogEnd: l.hw}
		l.mu.Unlock()
		return 0, err
	}
	if offset <= l.logStart {
		l.mu.Unlock()
		return 0, nil
	}
	l.logStart = offset
	n := 0
	for n < len(l.segments)-1 && l.segments[n+1].BaseOffset() <= offset {
		n++
	}
	doomed, err := l.dropSegmentsLocked(n)
	if err == nil && n == 0 {
		err = l.truncateEpochsLocked()
	}
	l.mu.Unlock()
	if derr := deleteSegments(doomed); derr != nil {
		err = errors.Join(err, l.fail("delete segments", derr))
	}
	if err != nil {
		return len(doomed), err
	}
	return len(doomed), l.writeCheckpoint()
}

// TruncateTo removes every record at or above offset, as a follower does
// when its log diverged from the leader's; a batch that contains offset
// goes as a whole, so the new log end offset may be below offset. The
// leader-epoch cache loses the epochs that start at or after the new end.
// Offsets at or past the log end change nothing; offsets below the log
// start return an *OffsetOutOfRangeError (see TruncateFullyAndStartAt).
// The cut is fsynced before TruncateTo returns.
func (l *Log) TruncateTo(offset int64) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	if err := l.writableLocked(); err != nil {
		l.mu.Unlock()
		return err
	}
	leo := l.leo()
	if offset >= leo {
		l.mu.Unlock()
		return nil
	}
	if offset < l.logStart {
		l.mu.Unlock()
		return &OffsetOutOfRangeError{Requested: offset, LogStart: l.logStart, LogEnd: leo}
	}
	i := l.segmentIndexLocked(offset)
	doomed := append([]*segment.Segment(nil), l.segments[i+1:]...)
	l.segments = l.segments[:i+1]
	a := l.active()
	hw, logStart := l.hw, l.logStart
	token, err := l.cutSegmentLocked(a, offset)
	// A lowered high watermark, log start or recovery point must not come
	// back from a stale checkpoint after a crash: a recovery point above
	// the cut would let recovery trust what is appended there next.
	changed := l.hw != hw || l.logStart != logStart || l.recoveryPoint < l.saved.recoveryPoint
	l.mu.Unlock()
	// The fsyncs and deletes run under flushMu alone, so reads (and the
	// log's other readers of mu) go on meanwhile.
	if err == nil {
		if hook := l.opts.beforeSync; hook != nil {
			hook()
		}
		err = token.SyncFiles()
		l.mu.Lock()
		if err != nil {
			err = l.failLocked("truncate", err)
		} else {
			token.MarkSynced()
		}
		l.mu.Unlock()
	}
	if err == nil {
		if err = deleteSegments(doomed); err != nil {
			err = l.fail("delete segments", err)
		}
	}
	if err == nil {
		if err = l.syncDir(); err != nil {
			err = l.fail("truncate", err)
		}
	}
	if err == nil && changed {
		err = l.writeCheckpoint()
	}
	return err
}

// cutSegmentLocked cuts s (now the active segment) at offset, fixes the
// offsets derived from the log end and returns the token to fsync the
// cut with.
func (l *Log) cutSegmentLocked(s *segment.Segment, offset int64) (segment.SyncToken, error) {
	if _, err := s.TruncateTo(offset); err != nil {
		return segment.SyncToken{}, l.failLocked("truncate", err)
	}
	token, err := s.PrepareSync()
	if err != nil {
		return segment.SyncToken{}, l.failLocked("truncate", err)
	}
	leo := l.leo()
	l.logStart = min(l.logStart, leo)
	l.hw = min(l.hw, leo)
	l.recoveryPoint = min(l.recoveryPoint, leo)
	l.activeSince = l.opts.now()
	return token, l.truncateEpochsLocked()
}

// TruncateFullyAndStartAt deletes every segment and restarts the log
// empty at offset, which becomes log start, high watermark and log end
// offset: what a follower does when the leader's log starts past its own
// end.
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	err := l.restartAtLocked(offset)
	l.mu.Unlock()
	if err != nil {
		return err
	}
	return l.writeCheckpoint()
}

func (l *Log) restartAtLocked(offset int64) error {
	if err := l.writableLocked(); err != nil {
		return err
	}
	if offset < 0 {
		return &OffsetOutOfRangeError{Requested: offset, LogStart: l.logStart, LogEnd: l.leo()}
	}
	if err := deleteSegments(l.segments); err != nil {
		return l.failLocked("delete segments", err)
	}
	s, err := segment.Create(l.dir, offset, l.segOptions())
	if err != nil {
		return l.failLocked("truncate", err)
	}
	l.segments = []*segment.Segment{s}
	l.logStart, l.hw, l.recoveryPoint = offset, offset, offset
	l.activeSince = l.opts.now()
	if err := l.syncDir(); err != nil {
		return l.failLocked("truncate", err)
	}
	l.epochs.Clear()
	return l.saveEpochsLocked()
}
