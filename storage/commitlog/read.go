package commitlog

import (
	"errors"
	"sort"

	"github.com/sluice-mq/sluice/storage/batch"

	"github.com/sluice-mq/sluice/storage/segment"
)

// Read returns raw batch bytes starting with the batch that contains
// offset: whole batches only, from one segment, as many as fit in maxBytes
// but at least one, stopping before any batch whose base offset is >=
// maxOffset (pass the high watermark to hide uncommitted data, or
// math.MaxInt64). It returns an empty result when offset == LogEndOffset or
// offset >= maxOffset, and an *OffsetOutOfRangeError when offset is below
// the log start or beyond the log end. The caller owns the returned slice.
func (l *Log) Read(offset int64, maxBytes int, maxOffset int64) ([]byte, error) {
	return l.ReadAppend(nil, offset, maxBytes, maxOffset)
}

// ReadAppend is Read appending the batches to dst and returning it, so a
// caller can reuse buffers; with an error or nothing to read it returns
// dst unchanged.
func (l *Log) ReadAppend(dst []byte, offset int64, maxBytes int, maxOffset int64) ([]byte, error) {
	out := dst
	err := l.readFrom(offset, maxOffset, func(s *segment.Segment) (bool, error) {
		b, err := s.ReadAppend(dst, offset, maxBytes, maxOffset)
		if err != nil {
			return false, err
		}
		out = b
		return len(b) > len(dst), nil
	})
	if err != nil {
		return dst, err
	}
	return out, nil
}

// readFrom is the segment walk of ReadAppend and ReadRange: it checks
// offset against the log (ErrClosed, *OffsetOutOfRangeError), and unless
// there is nothing to read (offset at the log end or at or past maxOffset)
// calls read on the segment holding offset and, while read finds no batch
// there (offset lies in a gap a compaction left at the segment's end), on
// the next ones. It holds the read lock throughout.
func (l *Log) readFrom(offset, maxOffset int64, read func(*segment.Segment) (found bool, err error)) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	leo := l.leo()
	if offset < l.logStart || offset > leo {
		return &OffsetOutOfRangeError{Requested: offset, LogStart: l.logStart, LogEnd: leo}
	}
	if offset == leo || offset >= maxOffset {
		return nil
	}
	for i := l.segmentIndexLocked(offset); i < len(l.segments); i++ {
		if found, err := read(l.segments[i]); err != nil || found {
			return err
		}
	}
	return nil
}

// segmentIndexLocked returns the index of the last segment whose base
// offset is <= offset (0 if none).
func (l *Log) segmentIndexLocked(offset int64) int {
	i := sort.Search(len(l.segments), func(i int) bool { return l.segments[i].BaseOffset() > offset })
	return max(i-1, 0)
}

// OffsetForTimestamp returns the offset and timestamp of the first record
// whose timestamp is >= ts (Kafka's ListOffsets by timestamp), or offset
// -1 when there is none. It finds the first batch whose max timestamp is
// >= ts and decodes that batch's records; for batches with LogAppendTime,
// or whose records cannot be decoded, it answers with the batch's base
// offset and max timestamp. A result below the log start offset is
// raised to it.
func (l *Log) OffsetForTimestamp(ts int64) (offset int64, timestamp int64, err error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return -1, -1, ErrClosed
	}
	for _, s := range l.segments {
		if s.MaxTimestamp() < ts {
			continue
		}
		off, t, found, err := s.FindTimestamp(ts)
		if err != nil {
			return -1, -1, err
		}
		if !found {
			continue
		}
		b, err := s.Read(off, 1, off+1)
		if err != nil {
			return -1, -1, err
		}
		if o, rt, ok := firstRecordAtOrAfter(b, ts); ok {
			off, t = o, rt
		}
		return max(off, l.logStart), t, nil
	}
	return -1, -1, nil
}

// errFound stops a record walk.
var errFound = errors.New("commitlog: found")

// firstRecordAtOrAfter finds the first record of batch b with timestamp
// >= ts; ok is false if b uses LogAppendTime or cannot be decoded.
func firstRecordAtOrAfter(b []byte, ts int64) (offset, timestamp int64, ok bool) {
	h, err := batch.ParseHeader(b)
	if err != nil || h.Attributes.LogAppendTime() {
		return 0, 0, false
	}
	err = batch.ForEach(b, func(r batch.Record) error {
		if r.Timestamp >= ts {
			offset, timestamp = r.Offset, r.Timestamp
			return errFound
		}
		return nil
	})
	return offset, timestamp, errors.Is(err, errFound)
}

// LogStartOffset is the first offset that can be read.
func (l *Log) LogStartOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.logStart
}

// LogEndOffset is the offset the next appended record gets.
func (l *Log) LogEndOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.leo()
}

// Size is the total size of the segment log files in bytes.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var n int64
	for _, s := range l.segments {
		n += s.Size()
	}
	return n
}

// NumSegments is the number of segments, the active one included.
func (l *Log) NumSegments() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.segments)
}

// HighWatermark is the offset below which records are committed.
func (l *Log) HighWatermark() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.hw
}

// SetHighWatermark sets the high watermark, clamped to [LogStartOffset,
// LogEndOffset]. It is checkpointed by Flush and Close.
func (l *Log) SetHighWatermark(o int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hw = min(max(o, l.logStart), l.leo())
}

// RecoveryPoint is the offset below which everything is fsynced.
func (l *Log) RecoveryPoint() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.recoveryPoint
}

// Dir is the log's directory.
func (l *Log) Dir() string { return l.dir }

// Config returns the log's configuration with defaults applied.
func (l *Log) Config() Config { return l.cfg }

// OpenStats says whether Open found a clean shutdown and what recovery
// did.
func (l *Log) OpenStats() OpenStats {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.stats
}

// SegmentInfo describes one segment.
type SegmentInfo struct {
	BaseOffset   int64
	NextOffset   int64
	Path         string // the .log file
	Size         int64
	MaxTimestamp int64 // segment.NoTimestamp when empty
	Active       bool
}

// Segments describes every segment, oldest first; the last is active.
func (l *Log) Segments() []SegmentInfo {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]SegmentInfo, len(l.segments))
	for i, s := range l.segments {
		out[i] = segmentInfo(s)
	}
	out[len(out)-1].Active = true
	return out
}

func segmentInfo(s *segment.Segment) SegmentInfo {
	return SegmentInfo{
		BaseOffset:   s.BaseOffset(),
		NextOffset:   s.NextOffset(),
		Path:         s.Path(),
		Size:         s.Size(),
		MaxTimestamp: s.MaxTimestamp(),
	}
}
