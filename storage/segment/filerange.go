package segment

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

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
	// Records is the number of offsets the batches span: their record
	// count, unless compaction left gaps.
	Records int64
}

// ErrRangeShrunk is returned when a Range's bytes were truncated away
// before they were all read.
var ErrRangeShrunk = errors.New("segment: file range truncated while in use")

// ReadRange is Read without the copy: it selects the same batches and
// returns them as a Range with a descriptor of its own. The Range is empty
// (File nil) when no batch qualifies. It reads batch headers only, and
// few of them: the offset index finds the last indexed batch that starts
// within maxBytes and below maxOffset, so only the batches after it are
// scanned; everything before it fits. Records counts the offsets the
// batches span.
func (s *Segment) ReadRange(offset int64, maxBytes int, maxOffset int64) (Range, error) {
	pos, h, found, err := s.findPos(offset)
	if err != nil || !found || h.BaseOffset >= maxOffset {
		return Range{}, err
	}
	limit := pos + min(int64(max(maxBytes, h.Size())), s.size-pos) // the range ends at or before limit
	end, next := pos+int64(h.Size()), h.NextOffset()               // the first batch always fits
	scan := end
	relLimit := uint64(min(max(maxOffset-s.base, 0), 1<<32-1))
	if e, ok, err := s.indexLastWithin(uint32(min(limit, 1<<32-1)), uint32(relLimit)); err != nil {
		return Range{}, err
	} else if ok && int64(e.pos) > scan {
		// Every batch before e.pos starts below maxOffset and ends by
		// e.pos <= limit.
		scan = int64(e.pos)
		end, next = scan, s.base+int64(e.rel)
	}
	for scan+batch.HeaderSize <= limit {
		h, err := readHeader(s.logFile, scan)
		if err != nil {
			return Range{}, fmt.Errorf("segment %020d: range at %d: %w", s.base, scan, err)
		}
		if h.BaseOffset >= maxOffset || scan+int64(h.Size()) > limit {
			break
		}
		scan += int64(h.Size())
		end, next = scan, h.NextOffset()
	}
	f, err := s.fs.OpenFile(s.path(LogSuffix), os.O_RDONLY, 0)
	if err != nil {
		return Range{}, fmt.Errorf("segment %020d: open range: %w", s.base, err)
	}
	return Range{File: f, Pos: pos, Size: end - pos, BaseOffset: h.BaseOffset, NextOffset: next, Records: next - h.BaseOffset}, nil
}

// indexLastWithin returns the last offset index entry whose position is
// <= maxPos and whose relative offset is < maxRel, from memory or from
// the file.
func (s *Segment) indexLastWithin(maxPos, maxRel uint32) (indexEntry, bool, error) {
	beyond := func(e indexEntry) bool { return e.pos > maxPos || e.rel >= maxRel }
	if !s.lazy {
		x := s.index.entries
		i := sort.Search(len(x), func(i int) bool { return beyond(x[i]) })
		if i == 0 {
			return indexEntry{}, false, nil
		}
		return x[i-1], true, nil
	}
	var err error
	i := sort.Search(s.disk.count, func(i int) bool {
		e, rerr := s.readIndexEntry(i)
		if rerr != nil {
			err = rerr
			return true
		}
		return beyond(e)
	})
	if err != nil || i == 0 {
		return indexEntry{}, false, err
	}
	e, err := s.readIndexEntry(i - 1)
	return e, err == nil, err
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
	var size, next int64
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
	}
	if size == 0 {
		return r.Close()
	}
	r.Size, r.NextOffset, r.Records = size, next, next-r.BaseOffset // the span, as ReadRange counts it
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
