package segment

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/vfs"
)

// File name suffixes of a segment's three files.
const (
	LogSuffix       = ".log"
	IndexSuffix     = ".index"
	TimeIndexSuffix = ".timeindex"
)

// DefaultIndexIntervalBytes is the log distance between two offset index
// entries when Options leaves it zero.
const DefaultIndexIntervalBytes = 4096

// maxPendingIndexEntries bounds the index entries kept only in memory
// before they are written out (they are always written by Sync and Close).
const maxPendingIndexEntries = 512

// NoTimestamp is the max timestamp of a segment without batches.
const NoTimestamp int64 = -1

// Options tune a segment.
type Options struct {
	// IndexIntervalBytes is the number of log bytes between two offset
	// index entries. 0 means DefaultIndexIntervalBytes.
	IndexIntervalBytes int32
	// NameSuffix is appended to every file name, e.g. ".cleaned" or
	// ".swap" for a segment staged to replace others (see package
	// commitlog). Empty for live segments.
	NameSuffix string
	// LazyIndex makes Open read only the last entry of each index file
	// and leave the entries on disk (see ReleaseIndex).
	LazyIndex bool
	// FS is the file layer; nil means the operating system (vfs.OS).
	FS vfs.FS
}

func (o Options) interval() int64 {
	if o.IndexIntervalBytes <= 0 {
		return DefaultIndexIntervalBytes
	}
	return int64(o.IndexIntervalBytes)
}

// FileName returns the name of a segment file: the base offset as 20
// decimal digits followed by suffix.
func FileName(baseOffset int64, suffix string) string {
	return fmt.Sprintf("%020d%s", baseOffset, suffix)
}

// Segment is one .log file with its .index and .timeindex. It is not safe
// for concurrent use except where a method says so: the owning log
// serialises writers and excludes them from readers.
type Segment struct {
	dir        string
	base       int64
	interval   int64
	nameSuffix string

	fs                           vfs.FS
	logFile, indexFile, timeFile *handle

	// Invariant: size is the length of the valid log; every byte below it
	// is a whole, CRC-checked batch.
	size       int64
	nextOffset int64
	// maxTimestamp is the greatest batch max timestamp (NoTimestamp when
	// empty) and maxTimestampRel the relative base offset of its batch.
	maxTimestamp    int64
	maxTimestampRel uint32
	firstTimestamp  int64
	bytesSinceIndex int64

	index offsetIndex
	times timeIndex
	// lazy means index and times are empty and the entries live only in
	// the files, described by disk.
	lazy bool
	disk diskIndex

	// writeGen counts modifications; syncedGen is the writeGen covered by
	// the last completed Sync.
	writeGen, syncedGen uint64
	closed              bool
}

func (s *Segment) path(suffix string) string {
	return filepath.Join(s.dir, FileName(s.base, suffix)+s.nameSuffix)
}

// Create makes a new empty segment with the given base offset in dir. It
// fails if a log file for that base already exists.
func Create(dir string, baseOffset int64, opts Options) (*Segment, error) {
	s := newSegment(dir, baseOffset, opts)
	var err error
	if s.logFile, err = openHandle(s.fs, s.path(LogSuffix), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644); err != nil {
		return nil, fmt.Errorf("segment: create %020d: %w", baseOffset, err)
	}
	if err := s.openIndexFiles(true); err != nil {
		s.closeFiles()
		return nil, err
	}
	// The new index files are empty: they need no descriptor until the
	// first entries are written.
	for _, h := range []*handle{s.indexFile, s.timeFile} {
		if _, err := h.release(false); err != nil {
			s.closeFiles()
			return nil, fmt.Errorf("segment: create %020d: %w", baseOffset, err)
		}
	}
	s.writeGen = 1
	return s, nil
}

// Open opens an existing segment and trusts its index files after a
// sanity check (use after a clean shutdown or for segments below the
// recovery point). If the indexes fail the check it returns an error
// wrapping ErrCorruptIndex and a usable segment: call Recover on it.
func Open(dir string, baseOffset int64, opts Options) (*Segment, error) {
	s := newSegment(dir, baseOffset, opts)
	var err error
	if s.logFile, err = openHandle(s.fs, s.path(LogSuffix), os.O_RDWR, 0); err != nil {
		return nil, fmt.Errorf("segment: open %020d: %w", baseOffset, err)
	}
	if err := s.openIndexFiles(false); err != nil {
		s.closeFiles()
		return nil, err
	}
	st, err := s.logFile.Stat()
	if err != nil {
		s.closeFiles()
		return nil, fmt.Errorf("segment: stat %020d: %w", baseOffset, err)
	}
	s.size = st.Size()
	if err := s.loadIndexes(opts.LazyIndex); err != nil {
		if !errors.Is(err, ErrCorruptIndex) {
			s.closeFiles()
			return nil, fmt.Errorf("segment %020d: %w", baseOffset, err)
		}
		return s, fmt.Errorf("segment %020d: %w", baseOffset, err)
	}
	return s, nil
}

func newSegment(dir string, baseOffset int64, opts Options) *Segment {
	return &Segment{
		dir:            dir,
		fs:             vfs.Default(opts.FS),
		base:           baseOffset,
		interval:       opts.interval(),
		nameSuffix:     opts.NameSuffix,
		nextOffset:     baseOffset,
		maxTimestamp:   NoTimestamp,
		firstTimestamp: NoTimestamp,
	}
}

func (s *Segment) openIndexFiles(create bool) error {
	flags := os.O_RDWR | os.O_CREATE
	if create {
		flags |= os.O_TRUNC
	}
	var err error
	if s.indexFile, err = openHandle(s.fs, s.path(IndexSuffix), flags, 0o644); err != nil {
		return fmt.Errorf("segment: open index %020d: %w", s.base, err)
	}
	if s.timeFile, err = openHandle(s.fs, s.path(TimeIndexSuffix), flags, 0o644); err != nil {
		return fmt.Errorf("segment: open timeindex %020d: %w", s.base, err)
	}
	return nil
}

// loadIndexes reads both index files and derives the segment's state from
// them plus a header scan of the log after the last index entry.
func (s *Segment) loadIndexes(lazy bool) error {
	if s.size > math.MaxUint32 {
		return fmt.Errorf("%w: log size %d overflows 32-bit positions", ErrCorruptIndex, s.size)
	}
	if lazy {
		if err := s.loadIndexTails(); err != nil {
			return err
		}
	} else if err := s.decodeIndexFiles(); err != nil {
		return err
	}
	start := int64(0)
	if e, ok := s.lastIndexEntry(); ok {
		start = int64(e.pos)
		if start >= s.size {
			return fmt.Errorf("%w: index points past the log end", ErrCorruptIndex)
		}
	}
	if t, ok := s.lastTimeEntry(); ok {
		s.maxTimestamp, s.maxTimestampRel = t.ts, t.rel
	}
	sc := newScanner(s.logFile, start, s.size)
	defer sc.release()
	first := true
	lastSize := int64(0)
	for {
		pos, h, err := sc.next()
		if err != nil {
			if errors.Is(err, errEnd) {
				break
			}
			return fmt.Errorf("%w: scanning log tail: %w", ErrCorruptIndex, err)
		}
		if first && start > 0 {
			e, _ := s.lastIndexEntry()
			if h.BaseOffset != s.base+int64(e.rel) {
				return fmt.Errorf("%w: last index entry names offset %d, log has %d", ErrCorruptIndex, s.base+int64(e.rel), h.BaseOffset)
			}
		}
		if h.BaseOffset < s.nextOffset {
			return fmt.Errorf("%w: batch at %d out of order", ErrCorruptIndex, pos)
		}
		first = false
		lastSize = int64(h.Size())
		s.noteBatch(h)
	}
	if t, ok := s.lastTimeEntry(); ok && uint64(t.rel) >= uint64(s.nextOffset-s.base) && s.nextOffset > s.base {
		return fmt.Errorf("%w: timeindex names an offset past the log end", ErrCorruptIndex)
	}
	s.bytesSinceIndex = s.size - start
	if s.bytesSinceIndex-lastSize >= s.interval {
		// Appending would have indexed the last batch: entries are missing.
		return fmt.Errorf("%w: no index entry for the last %d bytes", ErrCorruptIndex, s.bytesSinceIndex)
	}
	if s.size > 0 {
		h, err := readHeader(s.logFile, 0)
		if err != nil {
			return fmt.Errorf("%w: first batch: %w", ErrCorruptIndex, err)
		}
		if h.BaseOffset < s.base {
			return fmt.Errorf("%w: first batch offset %d below base", ErrCorruptIndex, h.BaseOffset)
		}
		s.firstTimestamp = h.MaxTimestamp
	}
	return nil
}

func (s *Segment) lastIndexEntry() (indexEntry, bool) {
	if s.lazy {
		return s.disk.last, s.disk.count > 0
	}
	if n := len(s.index.entries); n > 0 {
		return s.index.entries[n-1], true
	}
	return indexEntry{}, false
}

// noteBatch advances the in-memory state past a batch that is in the log.
func (s *Segment) noteBatch(h batch.Header) {
	if h.MaxTimestamp > s.maxTimestamp {
		s.maxTimestamp = h.MaxTimestamp
		s.maxTimestampRel = uint32(h.BaseOffset - s.base)
	}
	s.nextOffset = h.NextOffset()
}

// indexBatch adds the index entries a batch at pos calls for and advances
// the segment state. The append path and index rebuilding both use it, so
// a rebuilt index equals the one written while appending.
func (s *Segment) indexBatch(pos int64, h batch.Header) {
	indexed := false
	if pos == 0 {
		s.firstTimestamp = h.MaxTimestamp
	}
	if s.bytesSinceIndex >= s.interval {
		s.index.entries = append(s.index.entries, indexEntry{rel: uint32(h.BaseOffset - s.base), pos: uint32(pos)})
		s.bytesSinceIndex = 0
		indexed = true
	}
	s.bytesSinceIndex += int64(h.Size())
	s.noteBatch(h)
	if indexed && s.maxTimestamp != NoTimestamp {
		s.times.add(s.maxTimestamp, s.maxTimestampRel)
	}
}

// checkBatch verifies that a batch may follow the segment's current tail.
func (s *Segment) checkBatch(h batch.Header, pos int64) error {
	if h.BaseOffset < s.nextOffset {
		return fmt.Errorf("%w: base offset %d, segment next offset %d", ErrOutOfOrder, h.BaseOffset, s.nextOffset)
	}
	if h.LastOffset()-s.base > math.MaxUint32 || pos+int64(h.Size()) > math.MaxUint32 {
		return fmt.Errorf("%w: batch %d at position %d in segment %d", ErrOffsetOverflow, h.BaseOffset, pos, s.base)
	}
	return nil
}

// Append writes data, one or more whole batches already validated by the
// caller (CRC, magic) with offsets assigned, at the end of the log and
// indexes them. On a write error the log is cut back to its previous size.
func (s *Segment) Append(data []byte) error {
	if s.closed {
		return ErrClosed
	}
	if err := s.ensureResident(); err != nil {
		return err
	}
	// Check every header first so a bad batch leaves the segment untouched.
	next, pos := s.nextOffset, s.size
	for rest := data; len(rest) > 0; {
		h, err := batch.ParseHeader(rest)
		if err != nil {
			return fmt.Errorf("segment: append: %w", err)
		}
		if h.Size() > len(rest) {
			return fmt.Errorf("segment: append: %w", batch.ErrShortBatch)
		}
		if h.BaseOffset < next {
			return fmt.Errorf("%w: base offset %d, expected at least %d", ErrOutOfOrder, h.BaseOffset, next)
		}
		if err := s.checkBatch(h, pos); err != nil {
			return err
		}
		next, pos = h.NextOffset(), pos+int64(h.Size())
		rest = rest[h.Size():]
	}
	if _, err := s.logFile.WriteAt(data, s.size); err != nil {
		if terr := s.logFile.Truncate(s.size); terr != nil {
			return fmt.Errorf("segment: append %020d: %w (and truncating back: %w)", s.base, err, terr)
		}
		return fmt.Errorf("segment: append %020d: %w", s.base, err)
	}
	s.writeGen++
	for rest := data; len(rest) > 0; {
		h, _ := batch.ParseHeader(rest)
		s.indexBatch(s.size, h)
		s.size += int64(h.Size())
		rest = rest[h.Size():]
	}
	if len(s.index.entries)-s.index.written >= maxPendingIndexEntries {
		return s.writeIndexes()
	}
	return nil
}

// BaseOffset is the offset the segment's files are named after.
func (s *Segment) BaseOffset() int64 { return s.base }

// NextOffset is the offset after the segment's last batch (BaseOffset when
// empty).
func (s *Segment) NextOffset() int64 { return s.nextOffset }

// Size is the length of the log file in bytes.
func (s *Segment) Size() int64 { return s.size }

// MaxTimestamp is the greatest batch max timestamp, NoTimestamp if empty.
func (s *Segment) MaxTimestamp() int64 { return s.maxTimestamp }

// FirstTimestamp is the max timestamp of the first batch, NoTimestamp if
// empty; the log rolls by age from it.
func (s *Segment) FirstTimestamp() int64 { return s.firstTimestamp }

// Files returns the paths of the segment's .log, .index and .timeindex.
func (s *Segment) Files() [3]string {
	return [3]string{s.path(LogSuffix), s.path(IndexSuffix), s.path(TimeIndexSuffix)}
}

// Path is the path of the .log file.
func (s *Segment) Path() string { return s.path(LogSuffix) }

// IndexEntries is the number of offset index entries.
func (s *Segment) IndexEntries() int {
	if s.lazy {
		return s.disk.count
	}
	return len(s.index.entries)
}

// Dirty reports whether the segment changed since the last Sync.
func (s *Segment) Dirty() bool { return s.writeGen != s.syncedGen }
