package commitlog

import (
	"fmt"

	"github.com/sluice-mq/sluice/storage/batch"
)

// ScanBatches calls fn, in offset order, with the header of every batch
// whose last offset is ≥ from, reading headers only; read returns the
// whole batch when fn needs its records (a control batch's marker). It
// stops at the first error fn returns. Appends wait while it runs: it is
// meant for rebuilding state at open or after a truncation, when nothing
// appends.
func (l *Log) ScanBatches(from int64, fn func(h batch.Header, read func() ([]byte, error)) error) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	for i := l.segmentIndexLocked(from); i < len(l.segments); i++ {
		s := l.segments[i]
		if s.NextOffset() <= from {
			continue
		}
		err := s.ForEachBatch(func(pos int64, h batch.Header) error {
			if h.LastOffset() < from {
				return nil
			}
			return fn(h, func() ([]byte, error) {
				b := make([]byte, h.Size())
				if _, err := s.ReadAt(b, pos); err != nil {
					return nil, fmt.Errorf("commitlog: read batch at offset %d: %w", h.BaseOffset, err)
				}
				return b, nil
			})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// ActiveSegmentBase is the base offset of the active segment; it changes
// when the log rolls.
func (l *Log) ActiveSegmentBase() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.active().BaseOffset()
}
