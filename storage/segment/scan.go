package segment

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/sluice-mq/sluice/storage/batch"
)

// errEnd ends a scan at the end of the valid log.
var errEnd = errors.New("segment: end of log")

// Read-ahead of header scans: a lookup usually needs one header, so the
// first read is small; longer scans read more at a time.
const (
	scanFirstRead = 4 << 10
	scanMaxRead   = 64 << 10
)

// scanner walks batch headers of a log file from a position without
// reading batch bodies it does not need.
type scanner struct {
	r      io.ReaderAt
	buf    []byte
	pooled *[]byte // buf's pool entry while buf came from scanBuffers
	bufPos int64   // file position of buf[0]
	n      int     // valid bytes in buf
	pos    int64   // position of the next batch
	end    int64
}

func newScanner(r io.ReaderAt, start, end int64) *scanner {
	return &scanner{r: r, pos: start, end: end, bufPos: -1}
}

// scanBuffers holds first-read buffers, so a lookup allocates nothing.
var scanBuffers = sync.Pool{New: func() any {
	b := make([]byte, scanFirstRead)
	return &b
}}

// release returns a pooled buffer; the scanner must not be used after.
func (sc *scanner) release() {
	if sc.pooled != nil {
		scanBuffers.Put(sc.pooled)
		sc.pooled = nil
	}
	sc.buf = nil
}

// next returns the position and header of the next batch, errEnd at the
// end, or an error wrapping batch.ErrShortBatch when a header or batch
// reaches past end.
func (sc *scanner) next() (int64, batch.Header, error) {
	if sc.pos >= sc.end {
		return sc.pos, batch.Header{}, errEnd
	}
	if sc.end-sc.pos < batch.HeaderSize {
		return sc.pos, batch.Header{}, batch.ErrShortBatch
	}
	if sc.bufPos < 0 || sc.pos < sc.bufPos || sc.pos+batch.HeaderSize > sc.bufPos+int64(sc.n) {
		switch {
		case sc.buf == nil:
			sc.pooled = scanBuffers.Get().(*[]byte)
			sc.buf = *sc.pooled
		case len(sc.buf) < scanMaxRead:
			n := 2 * len(sc.buf)
			sc.release()
			sc.buf = make([]byte, n)
		}
		want := min(int64(len(sc.buf)), sc.end-sc.pos)
		n, err := sc.r.ReadAt(sc.buf[:want], sc.pos)
		if int64(n) < batch.HeaderSize {
			if err == nil || err == io.EOF {
				err = batch.ErrShortBatch
			}
			return sc.pos, batch.Header{}, err
		}
		sc.bufPos, sc.n = sc.pos, n
	}
	off := sc.pos - sc.bufPos
	h, err := batch.ParseHeader(sc.buf[off : off+batch.HeaderSize])
	if err != nil {
		return sc.pos, h, err
	}
	if sc.pos+int64(h.Size()) > sc.end {
		return sc.pos, h, batch.ErrShortBatch
	}
	pos := sc.pos
	sc.pos += int64(h.Size())
	return pos, h, nil
}

// readHeader reads the batch header at pos.
func readHeader(r io.ReaderAt, pos int64) (batch.Header, error) {
	var b [batch.HeaderSize]byte
	if _, err := r.ReadAt(b[:], pos); err != nil {
		if err == io.EOF {
			err = batch.ErrShortBatch
		}
		return batch.Header{}, err
	}
	return batch.ParseHeader(b[:])
}

// ForEachBatch calls fn with the position and header of every batch in
// order, reading headers only, and stops at the first error fn returns.
func (s *Segment) ForEachBatch(fn func(pos int64, h batch.Header) error) error {
	if s.closed {
		return ErrClosed
	}
	sc := newScanner(s.logFile, 0, s.size)
	defer sc.release()
	for {
		pos, h, err := sc.next()
		if errors.Is(err, errEnd) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("segment %020d: scan at %d: %w", s.base, pos, err)
		}
		if err := fn(pos, h); err != nil {
			return err
		}
	}
}

// recoverChunkSize is the read size of a recovery scan.
const recoverChunkSize = 1 << 20

// RecoverResult says what Recover found.
type RecoverResult struct {
	// Batches is the number of valid batches kept.
	Batches int
	// TruncatedBytes is the number of bytes cut off the end of the log.
	TruncatedBytes int64
	// ScannedBytes is the number of log bytes read and verified.
	ScannedBytes int64
	// Err is the reason of the cut (wrapping batch.ErrShortBatch,
	// batch.ErrCorruptBatch, batch.ErrInvalidMagic or ErrOutOfOrder), nil
	// when nothing was cut.
	Err error
}

// Recover reads the whole log, verifying every batch's framing, CRC and
// offset order, cuts the log at the first invalid batch (a torn or corrupt
// tail) and rebuilds both indexes. maxBatchBytes (if > 0) bounds the size
// a batch header may claim; onBatch (if not nil) sees the header of every
// batch kept, in order. It returns an error only for I/O failures.
func (s *Segment) Recover(maxBatchBytes int64, onBatch func(batch.Header)) (RecoverResult, error) {
	if s.closed {
		return RecoverResult{}, ErrClosed
	}
	st, err := s.logFile.Stat()
	if err != nil {
		return RecoverResult{}, fmt.Errorf("segment: recover %020d: %w", s.base, err)
	}
	fileSize := st.Size()
	s.resetState()
	return s.verifyFrom(0, fileSize, maxBatchBytes, onBatch)
}

// verifyFrom verifies the log from position start (a batch boundary up to
// which the segment state is already set) to fileSize, cuts it at the
// first invalid batch and rewrites both indexes.
func (s *Segment) verifyFrom(start, fileSize, maxBatchBytes int64, onBatch func(batch.Header)) (RecoverResult, error) {
	res := RecoverResult{ScannedBytes: fileSize - start}
	s.size = start
	buf := make([]byte, min(recoverChunkSize, max(fileSize-start, batch.HeaderSize)))
	pos := start
	for pos < fileSize && res.Err == nil {
		n, err := s.logFile.ReadAt(buf, pos)
		if err != nil && err != io.EOF {
			return res, fmt.Errorf("segment: recover %020d: %w", s.base, err)
		}
		chunk := buf[:n]
		consumed := 0
		for len(chunk) > 0 {
			h, b, rest, err := batch.Next(chunk)
			if errors.Is(err, batch.ErrShortBatch) && pos+int64(consumed)+int64(len(chunk)) < fileSize {
				// The batch continues past this chunk: read again from it,
				// with a buffer big enough if the header is plausible.
				if len(chunk) >= batch.HeaderSize && h.Size() > len(buf) {
					if int64(h.Size()) > fileSize-pos-int64(consumed) || (maxBatchBytes > 0 && int64(h.Size()) > maxBatchBytes) {
						res.Err = fmt.Errorf("%w: batch of %d bytes", batch.ErrShortBatch, h.Size())
						break
					}
					buf = make([]byte, h.Size())
				}
				break
			}
			if err == nil {
				if maxBatchBytes > 0 && int64(h.Size()) > maxBatchBytes {
					err = fmt.Errorf("%w: batch of %d bytes above the limit", batch.ErrCorruptBatch, h.Size())
				} else {
					err = s.checkBatch(h, pos+int64(consumed))
				}
			}
			if err != nil {
				res.Err = err
				break
			}
			s.indexBatch(pos+int64(consumed), h)
			if onBatch != nil {
				onBatch(h)
			}
			s.size = pos + int64(consumed) + int64(len(b))
			res.Batches++
			consumed += len(b)
			chunk = rest
		}
		if consumed == 0 && res.Err == nil && n < len(buf) {
			res.Err = batch.ErrShortBatch
		}
		pos += int64(consumed)
	}
	if s.size < fileSize {
		res.TruncatedBytes = fileSize - s.size
		if err := s.logFile.Truncate(s.size); err != nil {
			return res, fmt.Errorf("segment: recover %020d: truncate: %w", s.base, err)
		}
	}
	if s.maxTimestamp != NoTimestamp {
		s.times.add(s.maxTimestamp, s.maxTimestampRel)
	}
	if err := s.rewriteIndexes(); err != nil {
		return res, err
	}
	s.writeGen++
	return res, nil
}

// resetState forgets everything derived from the log.
func (s *Segment) resetState() {
	s.size = 0
	s.nextOffset = s.base
	s.maxTimestamp, s.maxTimestampRel = NoTimestamp, 0
	s.firstTimestamp = NoTimestamp
	s.bytesSinceIndex = 0
	s.index = offsetIndex{}
	s.times = timeIndex{}
	s.lazy, s.disk = false, diskIndex{}
}

// rewriteIndexes replaces both index files with the in-memory entries.
func (s *Segment) rewriteIndexes() error {
	if err := s.indexFile.Truncate(0); err != nil {
		return fmt.Errorf("segment: rewrite index %020d: %w", s.base, err)
	}
	if err := s.timeFile.Truncate(0); err != nil {
		return fmt.Errorf("segment: rewrite timeindex %020d: %w", s.base, err)
	}
	s.index.written, s.times.written = 0, 0
	return s.writeIndexes()
}
