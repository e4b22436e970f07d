package segment

import (
	"errors"
	"fmt"
	"os"
)

// writeIndexes writes the index entries that are only in memory.
func (s *Segment) writeIndexes() error {
	if s.lazy {
		return nil // nothing pending: entries were written before release
	}
	if len(s.index.entries) > s.index.written {
		if _, err := s.indexFile.WriteAt(s.index.encodePending(), int64(s.index.written)*IndexEntrySize); err != nil {
			return fmt.Errorf("segment: write index %020d: %w", s.base, err)
		}
		s.index.written = len(s.index.entries)
	}
	if len(s.times.entries) > s.times.written {
		if _, err := s.timeFile.WriteAt(s.times.encodePending(), int64(s.times.written)*TimeIndexEntrySize); err != nil {
			return fmt.Errorf("segment: write timeindex %020d: %w", s.base, err)
		}
		s.times.written = len(s.times.entries)
	}
	return nil
}

// Seal writes every pending index entry, including a final time index
// entry for the segment's max timestamp, without syncing. After Seal the
// index files describe the whole log; the log calls it on roll.
func (s *Segment) Seal() error {
	if s.closed {
		return ErrClosed
	}
	if s.lazy {
		return nil
	}
	if s.maxTimestamp != NoTimestamp {
		s.times.add(s.maxTimestamp, s.maxTimestampRel)
	}
	return s.writeIndexes()
}

// SyncToken is what PrepareSync hands to SyncFiles and MarkSynced.
type SyncToken struct {
	seg *Segment
	gen uint64
}

// PrepareSync seals the segment and returns a token for SyncFiles; it must
// be called with the segment's writers excluded, SyncFiles need not be.
func (s *Segment) PrepareSync() (SyncToken, error) {
	if err := s.Seal(); err != nil {
		return SyncToken{}, err
	}
	return SyncToken{seg: s, gen: s.writeGen}, nil
}

// SyncFiles fsyncs the segment's three files. It touches no segment state,
// so it may run while another goroutine appends to or reads the segment,
// but not concurrently with Close, Delete or TruncateTo.
func (t SyncToken) SyncFiles() error {
	s := t.seg
	for _, f := range []*handle{s.logFile, s.indexFile, s.timeFile} {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("segment: sync %s: %w", f.Name(), err)
		}
	}
	return nil
}

// MarkSynced records that the state captured by the token is durable;
// call it with writers excluded.
func (t SyncToken) MarkSynced() {
	if t.gen > t.seg.syncedGen {
		t.seg.syncedGen = t.gen
	}
}

// Sync seals the segment and fsyncs its files.
func (s *Segment) Sync() error {
	t, err := s.PrepareSync()
	if err != nil {
		return err
	}
	if err := t.SyncFiles(); err != nil {
		return err
	}
	t.MarkSynced()
	return nil
}

// Close writes pending index entries and closes the files without
// syncing them (call Sync first for durability).
func (s *Segment) Close() error {
	if s.closed {
		return nil
	}
	err := s.Seal()
	s.closed = true
	return errors.Join(err, s.closeFiles())
}

func (s *Segment) closeFiles() error {
	var errs []error
	for _, f := range []*handle{s.logFile, s.indexFile, s.timeFile} {
		if f != nil {
			if err := f.Close(); err != nil {
				errs = append(errs, fmt.Errorf("segment: close %s: %w", f.Name(), err))
			}
		}
	}
	return errors.Join(errs...)
}

// Delete closes the segment and removes its files.
func (s *Segment) Delete() error {
	var errs []error
	if !s.closed {
		s.closed = true
		errs = append(errs, s.closeFiles())
	}
	for _, suffix := range []string{LogSuffix, IndexSuffix, TimeIndexSuffix} {
		if err := s.fs.Remove(s.path(suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("segment: delete: %w", err))
		}
	}
	return errors.Join(errs...)
}
