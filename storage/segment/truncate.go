package segment

import (
	"errors"
	"fmt"
)

// TruncateTo removes every batch whose last offset is >= offset, so a
// batch that contains offset goes as a whole, and cuts both index files to
// match. It returns the segment's new next offset.
func (s *Segment) TruncateTo(offset int64) (int64, error) {
	if err := s.ensureResident(); err != nil {
		return s.nextOffset, err
	}
	pos, h, found, err := s.findPos(offset)
	if err != nil {
		return s.nextOffset, err
	}
	if !found {
		return s.nextOffset, nil
	}
	if err := s.logFile.Truncate(pos); err != nil {
		return s.nextOffset, fmt.Errorf("segment: truncate %020d: %w", s.base, err)
	}
	s.writeGen++
	s.size = pos
	s.nextOffset = h.BaseOffset
	rel := uint32(h.BaseOffset - s.base)
	s.index.truncatePos(uint32(pos))
	s.times.truncateRel(rel)
	if err := s.indexFile.Truncate(int64(s.index.written) * IndexEntrySize); err != nil {
		return s.nextOffset, fmt.Errorf("segment: truncate index %020d: %w", s.base, err)
	}
	if err := s.timeFile.Truncate(int64(s.times.written) * TimeIndexEntrySize); err != nil {
		return s.nextOffset, fmt.Errorf("segment: truncate timeindex %020d: %w", s.base, err)
	}
	return s.nextOffset, s.rescanTail()
}

// rescanTail recomputes the tail state (max timestamp, bytes since the
// last index entry, first timestamp) after the log was cut.
func (s *Segment) rescanTail() error {
	s.maxTimestamp, s.maxTimestampRel = NoTimestamp, 0
	if t, ok := s.times.last(); ok {
		s.maxTimestamp, s.maxTimestampRel = t.ts, t.rel
	}
	start := int64(0)
	if e, ok := s.lastIndexEntry(); ok {
		start = int64(e.pos)
	}
	if t, ok := s.times.last(); ok {
		if e, ok := s.index.floor(t.rel); ok {
			start = min(start, int64(e.pos))
		} else {
			start = 0
		}
	}
	s.bytesSinceIndex = s.size
	if e, ok := s.lastIndexEntry(); ok {
		s.bytesSinceIndex = s.size - int64(e.pos)
	}
	if s.size == 0 {
		s.firstTimestamp = NoTimestamp
	}
	next := s.nextOffset
	sc := newScanner(s.logFile, start, s.size)
	defer sc.release()
	for {
		pos, h, err := sc.next()
		if errors.Is(err, errEnd) {
			break
		}
		if err != nil {
			return fmt.Errorf("segment %020d: rescan at %d: %w", s.base, pos, err)
		}
		if h.MaxTimestamp > s.maxTimestamp {
			s.maxTimestamp, s.maxTimestampRel = h.MaxTimestamp, uint32(h.BaseOffset-s.base)
		}
	}
	s.nextOffset = next
	return nil
}
