package segment

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"

	"github.com/sluice-mq/sluice/storage/vfs"
)

// A closed segment need not keep its index entries in memory (8 bytes per
// IndexIntervalBytes of log, 0.2%, which adds up over a long retention):
// with Options.LazyIndex, Open reads only the last entry of each index
// file, and ReleaseIndex drops the entries of a segment after its last
// append. Lookups on such a segment binary search the index files with
// positioned reads. Anything that changes the segment (Append, TruncateTo)
// loads the entries back first.

// diskIndex describes index files whose entries are not in memory.
type diskIndex struct {
	count, timeCount int // entries in .index and .timeindex
	last             indexEntry
	lastTime         timeEntry
}

// ReleaseIndex writes pending index entries (sealing the segment) and
// drops the in-memory copies; call it when the segment stops taking
// appends.
func (s *Segment) ReleaseIndex() error {
	if s.lazy {
		return nil
	}
	if err := s.Seal(); err != nil {
		return err
	}
	s.disk = diskIndex{count: len(s.index.entries), timeCount: len(s.times.entries)}
	s.disk.last, _ = s.lastIndexEntry()
	s.disk.lastTime, _ = s.lastTimeEntry()
	s.index, s.times = offsetIndex{}, timeIndex{}
	s.lazy = true
	return nil
}

// IndexResident reports whether the index entries are held in memory.
func (s *Segment) IndexResident() bool { return !s.lazy }

// ensureResident loads the index entries into memory; indexes that fail
// to decode are rebuilt from the log.
func (s *Segment) ensureResident() error {
	if !s.lazy {
		return nil
	}
	err := s.decodeIndexFiles()
	if err == nil {
		s.lazy = false
		return nil
	}
	// Recover resets the segment to resident and rebuilds both indexes.
	if _, rerr := s.Recover(0, nil); rerr != nil {
		return fmt.Errorf("segment %020d: rebuild index: %w (after %w)", s.base, rerr, err)
	}
	return nil
}

// decodeIndexFiles reads both index files into memory.
func (s *Segment) decodeIndexFiles() error {
	b, err := readAll(s.indexFile)
	if err != nil {
		return fmt.Errorf("read index: %w", err)
	}
	if s.index, err = decodeIndex(b); err != nil {
		return err
	}
	if b, err = readAll(s.timeFile); err != nil {
		return fmt.Errorf("read timeindex: %w", err)
	}
	s.times, err = decodeTimeIndex(b)
	return err
}

// loadIndexTails sets up a lazy segment from the sizes and last entries
// of its index files.
func (s *Segment) loadIndexTails() error {
	var err error
	if s.disk.count, err = entryCount(s.indexFile, IndexEntrySize); err != nil {
		return err
	}
	if s.disk.timeCount, err = entryCount(s.timeFile, TimeIndexEntrySize); err != nil {
		return err
	}
	if s.disk.count > 0 {
		if s.disk.last, err = s.readIndexEntry(s.disk.count - 1); err != nil {
			return err
		}
	}
	if s.disk.timeCount > 0 {
		if s.disk.lastTime, err = s.readTimeEntry(s.disk.timeCount - 1); err != nil {
			return err
		}
	}
	s.lazy = true
	return nil
}

func entryCount(f vfs.File, size int64) (int, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if st.Size()%size != 0 {
		return 0, fmt.Errorf("%w: index file size %d not a multiple of %d", ErrCorruptIndex, st.Size(), size)
	}
	return int(st.Size() / size), nil
}

func (s *Segment) readIndexEntry(i int) (indexEntry, error) {
	var b [IndexEntrySize]byte
	if _, err := s.indexFile.ReadAt(b[:], int64(i)*IndexEntrySize); err != nil {
		return indexEntry{}, fmt.Errorf("segment %020d: read index entry %d: %w", s.base, i, noEOF(err))
	}
	return indexEntry{rel: binary.BigEndian.Uint32(b[:]), pos: binary.BigEndian.Uint32(b[4:])}, nil
}

func (s *Segment) readTimeEntry(i int) (timeEntry, error) {
	var b [TimeIndexEntrySize]byte
	if _, err := s.timeFile.ReadAt(b[:], int64(i)*TimeIndexEntrySize); err != nil {
		return timeEntry{}, fmt.Errorf("segment %020d: read timeindex entry %d: %w", s.base, i, noEOF(err))
	}
	return timeEntry{ts: int64(binary.BigEndian.Uint64(b[:])), rel: binary.BigEndian.Uint32(b[8:])}, nil
}

// noEOF turns the io.EOF of a short read of a fixed-size entry into
// ErrCorruptIndex: the file is shorter than its entry count said.
func noEOF(err error) error {
	if err == io.EOF {
		return fmt.Errorf("%w: index file shrank", ErrCorruptIndex)
	}
	return err
}

// indexFloor returns the index entry with the greatest relative offset
// <= rel, from memory or from the file.
func (s *Segment) indexFloor(rel uint32) (indexEntry, bool, error) {
	if !s.lazy {
		e, ok := s.index.floor(rel)
		return e, ok, nil
	}
	var err error
	i := sort.Search(s.disk.count, func(i int) bool {
		e, rerr := s.readIndexEntry(i)
		if rerr != nil {
			err = rerr
			return true
		}
		return e.rel > rel
	})
	if err != nil || i == 0 {
		return indexEntry{}, false, err
	}
	e, err := s.readIndexEntry(i - 1)
	return e, err == nil, err
}

// timeLastBelow returns the last time index entry with timestamp < ts,
// from memory or from the file.
func (s *Segment) timeLastBelow(ts int64) (timeEntry, bool, error) {
	if !s.lazy {
		e, ok := s.times.lastBelow(ts)
		return e, ok, nil
	}
	var err error
	i := sort.Search(s.disk.timeCount, func(i int) bool {
		e, rerr := s.readTimeEntry(i)
		if rerr != nil {
			err = rerr
			return true
		}
		return e.ts >= ts
	})
	if err != nil || i == 0 {
		return timeEntry{}, false, err
	}
	e, err := s.readTimeEntry(i - 1)
	return e, err == nil, err
}

// lastTimeEntry returns the last time index entry.
func (s *Segment) lastTimeEntry() (timeEntry, bool) {
	if s.lazy {
		return s.disk.lastTime, s.disk.timeCount > 0
	}
	return s.times.last()
}
