package commitlog

import (
	"errors"
	"fmt"
	"math"

	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/segment"
)

// AppendInfo describes a successful append.
type AppendInfo struct {
	// FirstOffset and LastOffset are the offsets of the first and last
	// record appended.
	FirstOffset int64
	LastOffset  int64
	// MaxTimestamp is the greatest batch max timestamp and
	// OffsetOfMaxTimestamp the base offset of its batch.
	MaxTimestamp         int64
	OffsetOfMaxTimestamp int64
	// Batches, Records and Bytes count what was appended.
	Batches int
	Records int64
	Bytes   int
	// LogStartOffset is the log start offset at the time of the append.
	LogStartOffset int64
}

// validate checks every batch in data (framing, magic, CRC, size limit)
// and returns their headers, appended to headers. It touches no log state.
func (l *Log) validate(data []byte, headers []batch.Header) ([]batch.Header, AppendInfo, error) {
	info := AppendInfo{MaxTimestamp: -1, OffsetOfMaxTimestamp: -1, Bytes: len(data)}
	if len(data) == 0 {
		return nil, info, ErrEmptyAppend
	}
	if len(data) > math.MaxInt32 {
		return nil, info, fmt.Errorf("%w: append of %d bytes", ErrBatchTooLarge, len(data))
	}
	for pos, rest := 0, data; len(rest) > 0; {
		h, b, next, err := batch.Next(rest)
		if err != nil {
			return nil, info, fmt.Errorf("commitlog: batch %d at byte %d: %w", len(headers), pos, err)
		}
		if h.Size() > int(l.cfg.MaxBatchBytes) {
			return nil, info, fmt.Errorf("%w: batch %d is %d bytes, maximum %d", ErrBatchTooLarge, len(headers), h.Size(), l.cfg.MaxBatchBytes)
		}
		headers = append(headers, h)
		info.Records += int64(h.RecordCount)
		pos += len(b)
		rest = next
	}
	info.Batches = len(headers)
	return headers, info, nil
}

// Append is the leader's append: data holds one or more concatenated v2
// batches, each validated (framing, magic, CRC, MaxBatchBytes) before
// anything is written, so a bad batch anywhere appends nothing. Offsets
// are assigned from the log end offset and leaderEpoch is stamped by
// patching the batch headers in data in place; the CRC does not cover
// them. With FlushAlways it returns after the data is fsynced; if that
// fsync fails the batches are in the log but not durable, and the error
// wraps ErrLogFailed.
func (l *Log) Append(data []byte, leaderEpoch int32) (AppendInfo, error) {
	var small [4]batch.Header // most appends carry few batches
	headers, info, err := l.validate(data, small[:0])
	if err != nil {
		return info, err
	}
	l.mu.Lock()
	if err := l.writableLocked(); err != nil {
		l.mu.Unlock()
		return info, err
	}
	next := l.leo()
	info.FirstOffset = next
	pos := 0
	for i := range headers {
		b := data[pos : pos+headers[i].Size()]
		batch.SetBaseOffset(b, next)
		batch.SetPartitionLeaderEpoch(b, leaderEpoch)
		headers[i].BaseOffset, headers[i].PartitionLeaderEpoch = next, leaderEpoch
		next = headers[i].NextOffset()
		pos += len(b)
	}
	err = l.appendLocked(data, headers, &info)
	l.mu.Unlock()
	if err != nil {
		return info, err
	}
	return info, l.afterAppend()
}

// AppendReplicated is the follower's append: offsets and epochs were
// assigned by the leader and are kept. The first batch must start exactly
// at the log end offset and each batch after the last offset of the one
// before; otherwise it returns a *NonMonotonicError and appends nothing.
func (l *Log) AppendReplicated(data []byte) (AppendInfo, error) {
	var small [4]batch.Header // most appends carry few batches
	headers, info, err := l.validate(data, small[:0])
	if err != nil {
		return info, err
	}
	l.mu.Lock()
	if err := l.writableLocked(); err != nil {
		l.mu.Unlock()
		return info, err
	}
	expected := l.leo()
	for i, h := range headers {
		if (i == 0 && h.BaseOffset != expected) || (i > 0 && h.BaseOffset < expected) {
			l.mu.Unlock()
			return info, &NonMonotonicError{Index: i, Expected: expected, Got: h.BaseOffset}
		}
		expected = h.NextOffset()
	}
	info.FirstOffset = headers[0].BaseOffset
	err = l.appendLocked(data, headers, &info)
	l.mu.Unlock()
	if err != nil {
		return info, err
	}
	return info, l.afterAppend()
}

func (l *Log) writableLocked() error {
	if l.closed || l.closing {
		return ErrClosed
	}
	return l.failed
}

// appendLocked rolls if needed, writes data to the active segment and
// records leader epochs. Callers hold mu.
func (l *Log) appendLocked(data []byte, headers []batch.Header, info *AppendInfo) error {
	last := headers[len(headers)-1]
	if err := l.maybeRollLocked(int64(len(data)), last.LastOffset()); err != nil {
		return err
	}
	if err := l.active().Append(data); err != nil {
		if errors.Is(err, segment.ErrOutOfOrder) || errors.Is(err, segment.ErrOffsetOverflow) {
			return err
		}
		// The segment cut a partial write back (or recovery will): the
		// log holds whole batches only, but the disk cannot be trusted.
		return l.failLocked("append", err)
	}
	for _, h := range headers {
		if h.MaxTimestamp > info.MaxTimestamp {
			info.MaxTimestamp, info.OffsetOfMaxTimestamp = h.MaxTimestamp, h.BaseOffset
		}
		if err := l.noteEpochLocked(h); err != nil {
			// The batches are in the log but the epoch cache is not
			// durable: stop writing until a reopen rebuilds it (the
			// failed save failed the log).
			return err
		}
	}
	info.LastOffset = last.LastOffset()
	info.LogStartOffset = l.logStart
	return nil
}

// afterAppend applies the flush policy once the append is in the page
// cache.
func (l *Log) afterAppend() error {
	switch {
	case l.cfg.FlushPolicy == FlushAlways && !l.opts.handoff:
		return l.syncData()
	case l.cfg.FlushPolicy != FlushNever:
		l.queueFlush()
	}
	return nil
}

// maybeRollLocked rolls the active segment before an append of n bytes
// ending at lastOffset if it would grow past SegmentBytes, its relative
// offsets would overflow, or it is older than SegmentAge.
func (l *Log) maybeRollLocked(n int64, lastOffset int64) error {
	a := l.active()
	if a.Size() == 0 {
		return nil
	}
	if a.Size()+n > l.cfg.SegmentBytes || lastOffset-a.BaseOffset() > math.MaxUint32 || l.agedLocked(l.opts.now().UnixMilli()) {
		return l.rollLocked()
	}
	return nil
}

// agedLocked reports whether the active segment is older than SegmentAge
// at nowMs: measured from its first batch's timestamp, or from when it
// was created if that batch has none.
func (l *Log) agedLocked(nowMs int64) bool {
	a := l.active()
	if a.Size() == 0 {
		return false
	}
	since := a.FirstTimestamp()
	if since < 0 {
		since = l.activeSince.UnixMilli()
	}
	return nowMs-since > l.cfg.SegmentAge.Milliseconds()
}

// rollLocked seals the active segment and starts a new one at the log end
// offset. The sealed segment is fsynced by the next flush.
func (l *Log) rollLocked() error {
	a := l.active()
	// A closed segment keeps its index entries on disk only.
	if err := a.ReleaseIndex(); err != nil {
		return l.failLocked("roll", err)
	}
	s, err := segment.Create(l.dir, a.NextOffset(), l.segOptions())
	if err != nil {
		return l.failLocked("roll", err)
	}
	l.segments = append(l.segments, s)
	l.activeSince = l.opts.now()
	l.dirDirty = true
	if l.opts.flusher != nil {
		l.queueFlush()
	}
	return nil
}
