package commitlog

import "github.com/sluice-mq/sluice/storage/segment"

// ReadRange is Read without the copy: it selects the same batches (whole
// batches from one segment, at least one, below maxOffset) and returns
// them as a segment.Range, a file range with a descriptor of its own that
// stays readable if retention, compaction or Close remove the segment
// meanwhile (see segment.Range). The caller must Close the Range. It
// returns an empty Range where Read returns no bytes, and the same
// errors.
func (l *Log) ReadRange(offset int64, maxBytes int, maxOffset int64) (segment.Range, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return segment.Range{}, ErrClosed
	}
	leo := l.leo()
	if offset < l.logStart || offset > leo {
		return segment.Range{}, &OffsetOutOfRangeError{Requested: offset, LogStart: l.logStart, LogEnd: leo}
	}
	if offset == leo || offset >= maxOffset {
		return segment.Range{}, nil
	}
	for i := l.segmentIndexLocked(offset); i < len(l.segments); i++ {
		r, err := l.segments[i].ReadRange(offset, maxBytes, maxOffset)
		if err != nil || r.Size > 0 {
			return r, err
		}
		// offset lies in a gap at the end of the segment (compacted
		// away): continue with the next one.
	}
	return segment.Range{}, nil
}
