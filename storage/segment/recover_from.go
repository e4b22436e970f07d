package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/sluice-mq/sluice/storage/batch"
)

// RecoverFrom is Recover for a segment whose batches below offset are
// known durable: they were fsynced, together with the index entries that
// describe them, before offset was checkpointed as the recovery point.
// It keeps the index entries below offset, walks the batch headers from
// the last of them to offset without verifying the bodies, and verifies
// only the log from offset on (RecoverResult.ScannedBytes counts those
// bytes). If the durable part does not check out (offset is not a batch
// boundary, an index entry points at the wrong batch) it falls back to a
// full Recover. onBatch sees only the verified batches.
func (s *Segment) RecoverFrom(offset int64, maxBatchBytes int64, onBatch func(batch.Header)) (RecoverResult, error) {
	if s.closed {
		return RecoverResult{}, ErrClosed
	}
	st, err := s.logFile.Stat()
	if err != nil {
		return RecoverResult{}, fmt.Errorf("segment: recover %020d: %w", s.base, err)
	}
	fileSize := st.Size()
	if offset <= s.base || offset-s.base > math.MaxUint32 {
		s.resetState()
		return s.verifyFrom(0, fileSize, maxBatchBytes, onBatch)
	}
	start, err := s.restoreDurable(offset, fileSize)
	if err != nil {
		if !errors.Is(err, errNotDurable) {
			return RecoverResult{}, err
		}
		s.resetState()
		start = 0
	}
	return s.verifyFrom(start, fileSize, maxBatchBytes, onBatch)
}

// errNotDurable says the durable prefix claimed by a recovery point does
// not check out; the caller verifies the whole segment instead.
var errNotDurable = errors.New("segment: durable prefix does not check out")

// restoreDurable rebuilds the segment state for the batches below offset
// from the index files and the headers after the last index entry below
// offset, and returns the position of offset in the log.
func (s *Segment) restoreDurable(offset, fileSize int64) (int64, error) {
	s.resetState()
	limit := uint32(offset - s.base)
	idx, err := readAll(s.indexFile)
	if err != nil {
		return 0, err
	}
	for i := 0; (i+1)*IndexEntrySize <= len(idx); i++ {
		e := indexEntry{
			rel: binary.BigEndian.Uint32(idx[i*IndexEntrySize:]),
			pos: binary.BigEndian.Uint32(idx[i*IndexEntrySize+4:]),
		}
		if e.rel >= limit || int64(e.pos) >= fileSize {
			break
		}
		if n := len(s.index.entries); n > 0 && (e.rel <= s.index.entries[n-1].rel || e.pos <= s.index.entries[n-1].pos) {
			break
		}
		s.index.entries = append(s.index.entries, e)
	}
	ts, err := readAll(s.timeFile)
	if err != nil {
		return 0, err
	}
	for i := 0; (i+1)*TimeIndexEntrySize <= len(ts); i++ {
		e := timeEntry{
			ts:  int64(binary.BigEndian.Uint64(ts[i*TimeIndexEntrySize:])),
			rel: binary.BigEndian.Uint32(ts[i*TimeIndexEntrySize+8:]),
		}
		if e.rel >= limit {
			break
		}
		if n := len(s.times.entries); n > 0 && (e.ts <= s.times.entries[n-1].ts || e.rel <= s.times.entries[n-1].rel) {
			break
		}
		s.times.entries = append(s.times.entries, e)
	}
	if t, ok := s.times.last(); ok {
		s.maxTimestamp, s.maxTimestampRel = t.ts, t.rel
	}
	start := int64(0)
	last, indexed := s.index.floor(limit)
	if indexed {
		start = int64(last.pos)
	}
	if start > 0 {
		h, err := readHeader(s.logFile, 0)
		if err != nil {
			return 0, fmt.Errorf("%w: first batch: %w", errNotDurable, err)
		}
		s.firstTimestamp = h.MaxTimestamp
	}
	sc := newScanner(s.logFile, start, fileSize)
	defer sc.release()
	for first := true; ; first = false {
		pos, h, err := sc.next()
		if err != nil {
			return 0, fmt.Errorf("%w: at %d: %w", errNotDurable, pos, err)
		}
		switch {
		case first && indexed:
			if h.BaseOffset != s.base+int64(last.rel) {
				return 0, fmt.Errorf("%w: index entry names offset %d, log has %d", errNotDurable, s.base+int64(last.rel), h.BaseOffset)
			}
			s.noteBatch(h)
			s.bytesSinceIndex = int64(h.Size())
		case h.BaseOffset < s.nextOffset:
			return 0, fmt.Errorf("%w: batch at %d out of order", errNotDurable, pos)
		default:
			s.indexBatch(pos, h)
		}
		end := pos + int64(h.Size())
		switch next := h.NextOffset(); {
		case next == offset:
			s.size = end
			s.index.written, s.times.written = len(s.index.entries), len(s.times.entries)
			return end, nil
		case next > offset:
			return 0, fmt.Errorf("%w: offset %d inside the batch at %d", errNotDurable, offset, pos)
		}
	}
}
