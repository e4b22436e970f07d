package segment

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/sluice-mq/sluice/storage/batch"
)

// findPos returns the position and header of the first batch whose last
// offset is >= offset, or found=false when every batch ends before offset.
// Methods that only read may run concurrently with each other.
func (s *Segment) findPos(offset int64) (pos int64, h batch.Header, found bool, err error) {
	if s.closed {
		return 0, h, false, ErrClosed
	}
	if offset >= s.nextOffset {
		return s.size, h, false, nil
	}
	start, want := int64(0), s.base
	if offset > s.base {
		e, ok, err := s.indexFloor(uint32(offset - s.base))
		if err != nil {
			return 0, h, false, err
		}
		if ok {
			start, want = int64(e.pos), s.base+int64(e.rel)
		}
	}
	sc := newScanner(s.logFile, start, s.size)
	defer sc.release()
	for first := true; ; first = false {
		pos, h, err := sc.next()
		if errors.Is(err, errEnd) {
			return s.size, h, false, nil
		}
		if first && pos > 0 && (err != nil || h.BaseOffset != want) {
			// An index entry that does not point at the batch it names:
			// report it rather than read from the wrong place.
			return 0, h, false, fmt.Errorf("segment %020d: %w: entry for offset %d at position %d", s.base, ErrCorruptIndex, want, pos)
		}
		if err != nil {
			return 0, h, false, fmt.Errorf("segment %020d: scan at %d: %w", s.base, pos, err)
		}
		if h.LastOffset() >= offset {
			return pos, h, true, nil
		}
	}
}

// Lookup returns the log position of the batch that contains offset, or of
// the first batch after it; found is false when no batch ends at or after
// offset.
func (s *Segment) Lookup(offset int64) (pos int64, found bool, err error) {
	pos, _, found, err = s.findPos(offset)
	return pos, found, err
}

// ReadAt reads raw log bytes [pos, pos+len(p)); reading past Size returns
// io.EOF.
func (s *Segment) ReadAt(p []byte, pos int64) (int, error) {
	if s.closed {
		return 0, ErrClosed
	}
	if pos+int64(len(p)) > s.size {
		n, err := s.logFile.ReadAt(p[:max(0, s.size-pos)], pos)
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	return s.logFile.ReadAt(p, pos)
}

// Read returns whole batches starting with the one that contains offset
// (or the first after it): as many as fit in maxBytes, but at least one,
// stopping before any batch whose base offset is >= maxOffset. It returns
// nil when no batch qualifies. The caller owns the returned slice.
func (s *Segment) Read(offset int64, maxBytes int, maxOffset int64) ([]byte, error) {
	return s.ReadAppend(nil, offset, maxBytes, maxOffset)
}

// ReadAppend is Read appending to dst (which it returns, grown as needed),
// so callers can reuse buffers. On error or when no batch qualifies it
// returns dst unchanged.
func (s *Segment) ReadAppend(dst []byte, offset int64, maxBytes int, maxOffset int64) ([]byte, error) {
	pos, h, found, err := s.findPos(offset)
	if err != nil || !found || h.BaseOffset >= maxOffset {
		return dst, err
	}
	n := int64(max(maxBytes, h.Size()))
	n = min(n, s.size-pos)
	start := len(dst)
	out := slices.Grow(dst, int(n))[:start+int(n)]
	buf := out[start:]
	if _, err := s.logFile.ReadAt(buf, pos); err != nil {
		return dst, fmt.Errorf("segment %020d: read at %d: %w", s.base, pos, err)
	}
	end := 0
	for end+batch.HeaderSize <= len(buf) {
		h, err := batch.ParseHeader(buf[end:])
		if err != nil {
			return dst, fmt.Errorf("segment %020d: read at %d: %w", s.base, pos+int64(end), err)
		}
		if h.BaseOffset >= maxOffset || end+h.Size() > len(buf) {
			break
		}
		end += h.Size()
	}
	return out[:start+end], nil
}

// FindTimestamp returns the base offset and max timestamp of the first
// batch whose max timestamp is >= ts; found is false when there is none.
func (s *Segment) FindTimestamp(ts int64) (offset, timestamp int64, found bool, err error) {
	if s.closed {
		return 0, 0, false, ErrClosed
	}
	if s.maxTimestamp < ts || s.size == 0 {
		return -1, -1, false, nil
	}
	start, want := int64(0), s.base
	e, ok, err := s.timeLastBelow(ts)
	if err != nil {
		return 0, 0, false, err
	}
	if ok {
		ie, ok, err := s.indexFloor(e.rel)
		if err != nil {
			return 0, 0, false, err
		}
		if ok {
			start, want = int64(ie.pos), s.base+int64(ie.rel)
		}
	}
	sc := newScanner(s.logFile, start, s.size)
	defer sc.release()
	for first := true; ; first = false {
		pos, h, err := sc.next()
		if errors.Is(err, errEnd) {
			return -1, -1, false, nil
		}
		if first && pos > 0 && (err != nil || h.BaseOffset != want) {
			return 0, 0, false, fmt.Errorf("segment %020d: %w: entry for offset %d at position %d", s.base, ErrCorruptIndex, want, pos)
		}
		if err != nil {
			return 0, 0, false, fmt.Errorf("segment %020d: scan at %d: %w", s.base, pos, err)
		}
		if h.MaxTimestamp >= ts {
			return h.BaseOffset, h.MaxTimestamp, true, nil
		}
	}
}
