package segment

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/vfs"
)

// Range is a run of whole batches in a segment's .log file, for a caller
// that sends them without copying them into memory (sendfile). It reads
// through a read-only descriptor of its own, opened by ReadRange, which is
// the reference that keeps the bytes alive: the segment may be closed,
// deleted by retention or replaced by compaction while a Range is held,
// and the Range still reads the batches it was made for, because an open
// descriptor keeps its file's data until it is closed. The one change a
// Range does not survive is a truncation of its own bytes (a follower
// cutting a divergent tail): reads then come up short, which
// Range.Copy reports as ErrRangeShrunk.
//
// The descriptor's file position is the Range's own (no other reader
// shares it), so a sendfile(2) from it needs no locking. The holder must
// Close the Range exactly once.
type Range struct {
	// File is the descriptor; nil for an empty Range.
	File vfs.File
	// Pos and Size are the batches' position in the file and their
	// total length.
	Pos, Size int64
	// BaseOffset is the first batch's base offset and NextOffset the
	// offset after the last batch.
	BaseOffset, NextOffset int64
	// Records is the sum of the batches' record counts.
	Records int64
}

// ErrRangeShrunk is returned when a Range's bytes were truncated away
// before they were all read.
var ErrRangeShrunk = errors.New("segment: file range truncated while in use")

// ReadRange is Read without the copy: it selects the same batches and
// returns them as a Range with a descriptor of its own. The Range is empty
// (File nil) when no batch qualifies.
func (s *Segment) ReadRange(offset int64, maxBytes int, maxOffset int64) (Range, error) {
	pos, h, found, err := s.findPos(offset)
	if err != nil || !found || h.BaseOffset >= maxOffset {
		return Range{}, err
	}
	limit := min(int64(max(maxBytes, h.Size())), s.size-pos)
	r := Range{Pos: pos, BaseOffset: h.BaseOffset}
	sc := newScanner(s.logFile, pos, pos+limit)
	defer sc.release()
	for {
		_, h, err := sc.next()
		if errors.Is(err, errEnd) || errors.Is(err, batch.ErrShortBatch) {
			break // the next batch does not fit in limit
		}
		if err != nil {
			return Range{}, fmt.Errorf("segment %020d: range at %d: %w", s.base, pos+r.Size, err)
		}
		if h.BaseOffset >= maxOffset {
			break
		}
		r.Size += int64(h.Size())
		r.NextOffset = h.NextOffset()
		r.Records += int64(h.RecordCount)
	}
	if r.Size == 0 {
		return Range{}, nil
	}
	f, err := s.fs.OpenFile(s.path(LogSuffix), os.O_RDONLY, 0)
	if err != nil {
		return Range{}, fmt.Errorf("segment %020d: open range: %w", s.base, err)
	}
	r.File = f
	return r, nil
}

// Len is the Range's size in bytes.
func (r *Range) Len() int64 { return r.Size }

// Close releases the Range's descriptor; an empty Range has none.
func (r *Range) Close() error {
	if r.File == nil {
		return nil
	}
	err := r.File.Close()
	r.File = nil
	return err
}

// Shrink keeps the longest prefix of whole batches of at most maxBytes,
// reading their headers, and with minOne at least the first batch however
// large (Kafka's minOneMessage); a Range with no batch left is closed. It
// returns ErrRangeShrunk if the file no longer holds the batches.
func (r *Range) Shrink(maxBytes int64, minOne bool) error {
	if r.File == nil || r.Size <= maxBytes {
		return nil
	}
	var size, next, records int64
	var b [batch.HeaderSize]byte
	for size+batch.HeaderSize <= r.Size {
		if _, err := r.File.ReadAt(b[:], r.Pos+size); err != nil {
			return shrunk(err)
		}
		h, err := batch.ParseHeader(b[:])
		if err != nil {
			return fmt.Errorf("%w: %w", ErrRangeShrunk, err)
		}
		if size+int64(h.Size()) > maxBytes && (size > 0 || !minOne) {
			break
		}
		size += int64(h.Size())
		next = h.NextOffset()
		records += int64(h.RecordCount)
	}
	if size == 0 {
		return r.Close()
	}
	r.Size, r.NextOffset, r.Records = size, next, records
	return nil
}

// Copy writes the Range's bytes to w. When w takes an io.Reader
// (io.ReaderFrom) and the descriptor is an *os.File, the bytes go through
// w.ReadFrom from a limited reader over the file, which a *net.TCPConn
// turns into sendfile(2) on Linux; otherwise they are copied through a
// buffer. It returns ErrRangeShrunk when the file ended early.
func (r *Range) Copy(w io.Writer) (int64, error) {
	if r.File == nil || r.Size == 0 {
		return 0, nil
	}
	var src io.Reader
	if f, ok := r.File.(*os.File); ok {
		if _, err := f.Seek(r.Pos, io.SeekStart); err != nil {
			return 0, err
		}
		src = io.LimitReader(f, r.Size)
	} else {
		src = io.NewSectionReader(r.File, r.Pos, r.Size)
	}
	var n int64
	var err error
	if rf, ok := w.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(w, src)
	}
	if err == nil && n < r.Size {
		err = ErrRangeShrunk
	}
	return n, err
}

func shrunk(err error) error {
	if errors.Is(err, io.EOF) {
		return ErrRangeShrunk
	}
	return err
}
