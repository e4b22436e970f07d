package segment

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-mq/sluice/storage/batch"
)

func TestSegmentFileName(t *testing.T) {
	if got := FileName(42, LogSuffix); got != "00000000000000000042.log" {
		t.Fatalf("FileName = %q", got)
	}
}

func TestSegmentAppendLookupRead(t *testing.T) {
	s := mustCreate(t, t.TempDir(), 1000, Options{IndexIntervalBytes: 1024})
	ws := fill(t, s, 200, 5000)
	if s.IndexEntries() == 0 {
		t.Fatal("no index entries after 200 batches")
	}
	checkLookups(t, s, ws)
	if _, found, _ := s.Lookup(s.NextOffset()); found {
		t.Fatal("Lookup(next offset) found a batch")
	}
	if s.MaxTimestamp() != ws[len(ws)-1].maxTs || s.FirstTimestamp() != 5000 {
		t.Fatalf("timestamps max %d first %d", s.MaxTimestamp(), s.FirstTimestamp())
	}
}

func TestSegmentReadLimits(t *testing.T) {
	s := mustCreate(t, t.TempDir(), 0, Options{})
	ws := fill(t, s, 20, 0)
	// maxBytes smaller than the first batch still returns it whole.
	got, err := s.Read(ws[3].base, 1, 1<<62)
	if err != nil || len(got) != len(ws[3].bytes) {
		t.Fatalf("Read small maxBytes: %d bytes, %v", len(got), err)
	}
	// maxBytes covering three and a half batches returns three.
	limit := len(ws[3].bytes) + len(ws[4].bytes) + len(ws[5].bytes) + len(ws[6].bytes)/2
	got, err = s.Read(ws[3].base, limit, 1<<62)
	if err != nil || len(got) != limit-len(ws[6].bytes)/2 {
		t.Fatalf("Read(limit %d) = %d bytes, %v", limit, len(got), err)
	}
	// maxOffset stops before the batch starting there.
	got, err = s.Read(ws[3].base, 1<<20, ws[5].base)
	if err != nil || len(got) != len(ws[3].bytes)+len(ws[4].bytes) {
		t.Fatalf("Read(maxOffset) = %d bytes, %v", len(got), err)
	}
	if got, err := s.Read(ws[3].base, 1<<20, ws[3].base); err != nil || got != nil {
		t.Fatalf("Read at maxOffset = %d bytes, %v", len(got), err)
	}
	// ReadAt reads raw bytes and reports EOF past the end.
	raw := make([]byte, 10)
	if _, err := s.ReadAt(raw, s.Size()-5); err == nil {
		t.Fatal("ReadAt past end: no error")
	}
}

func TestSegmentReopenTrustsIndexes(t *testing.T) {
	dir := t.TempDir()
	s, err := Create(dir, 7, Options{IndexIntervalBytes: 512})
	if err != nil {
		t.Fatal(err)
	}
	ws := fill(t, s, 300, 100)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir, 7, Options{IndexIntervalBytes: 512})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	sameIndexes(t, s, r)
	checkLookups(t, r, ws)
	// Appends continue with the same indexing rule as a fresh rebuild.
	more := fill(t, r, 50, 10_000)
	checkLookups(t, r, append(ws, more...))
}

func TestSegmentRecoverRebuildsSameIndexes(t *testing.T) {
	dir := t.TempDir()
	s, err := Create(dir, 0, Options{IndexIntervalBytes: 700})
	if err != nil {
		t.Fatal(err)
	}
	ws := fill(t, s, 250, 0)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{IndexSuffix, TimeIndexSuffix} {
		if err := os.Remove(filepath.Join(dir, FileName(0, suffix))); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Open(dir, 0, Options{IndexIntervalBytes: 700})
	if !errors.Is(err, ErrCorruptIndex) {
		t.Fatalf("Open without indexes: %v, want ErrCorruptIndex", err)
	}
	defer r.Close()
	res, err := r.Recover(0, nil)
	if err != nil || res.Err != nil || res.TruncatedBytes != 0 || res.Batches != 250 {
		t.Fatalf("Recover = %+v, %v", res, err)
	}
	sameIndexes(t, s, r)
	checkLookups(t, r, ws)
}

func TestSegmentRecoverCutsDamage(t *testing.T) {
	opts := Options{IndexIntervalBytes: 600}
	build := func(t *testing.T) (string, []written) {
		dir := t.TempDir()
		s, err := Create(dir, 50, opts)
		if err != nil {
			t.Fatal(err)
		}
		ws := fill(t, s, 30, 0)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return dir, ws
	}
	damage := map[string]func(t *testing.T, path string, ws []written) int{
		// Torn tail: the file ends inside the last batch.
		"torn": func(t *testing.T, path string, ws []written) int {
			last := ws[len(ws)-1]
			if err := os.Truncate(path, last.pos+int64(len(last.bytes))/2); err != nil {
				t.Fatal(err)
			}
			return len(ws) - 1
		},
		// A flipped byte in a record section breaks that batch's CRC.
		"flipped": func(t *testing.T, path string, ws []written) int {
			flipByte(t, path, ws[17].pos+batch.HeaderSize+3)
			return 17
		},
		// A broken magic byte.
		"magic": func(t *testing.T, path string, ws []written) int {
			flipByte(t, path, ws[9].pos+16)
			return 9
		},
		// Garbage appended after the last batch.
		"garbage": func(t *testing.T, path string, ws []written) int {
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write(make([]byte, 100)); err != nil {
				t.Fatal(err)
			}
			return len(ws)
		},
	}
	for name, fn := range damage {
		t.Run(name, func(t *testing.T) {
			dir, ws := build(t)
			keep := fn(t, filepath.Join(dir, FileName(50, LogSuffix)), ws)
			s, err := Open(dir, 50, opts)
			if err != nil && !errors.Is(err, ErrCorruptIndex) {
				t.Fatalf("Open: %v", err)
			}
			defer s.Close()
			res, err := s.Recover(0, nil)
			if err != nil || res.Batches != keep || res.Err == nil {
				t.Fatalf("Recover = %+v, %v; want %d batches kept and a cause", res, err, keep)
			}
			ws = ws[:keep]
			checkLookups(t, s, ws)
			next := int64(50)
			if keep > 0 {
				next = ws[keep-1].last + 1
			}
			if s.NextOffset() != next {
				t.Fatalf("NextOffset = %d, want %d", s.NextOffset(), next)
			}
			more := fill(t, s, 5, 1000)
			checkLookups(t, s, append(ws, more...))
		})
	}
}

func flipByte(t *testing.T, path string, pos int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, pos); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, pos); err != nil {
		t.Fatal(err)
	}
}

func TestSegmentTruncate(t *testing.T) {
	opts := Options{IndexIntervalBytes: 800}
	for _, cut := range []int{0, 1, 7, 15, 29} {
		dir := t.TempDir()
		s := mustCreate(t, dir, 100, opts)
		ws := fill(t, s, 30, 0)
		// Truncating inside a batch removes the whole batch.
		target := ws[cut].base + (ws[cut].last-ws[cut].base)/2
		next, err := s.TruncateTo(target)
		if err != nil || next != ws[cut].base {
			t.Fatalf("cut %d: TruncateTo(%d) = %d, %v; want %d", cut, target, next, err, ws[cut].base)
		}
		checkLookups(t, s, ws[:cut])
		wantTs := NoTimestamp
		if cut > 0 {
			wantTs = ws[cut-1].maxTs
		}
		if s.MaxTimestamp() != wantTs {
			t.Fatalf("cut %d: MaxTimestamp = %d, want %d", cut, s.MaxTimestamp(), wantTs)
		}
		more := fill(t, s, 10, 100_000)
		all := append(append([]written(nil), ws[:cut]...), more...)
		checkLookups(t, s, all)
		// The index after truncate+append equals a rebuild from the log.
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		r, err := Open(dir, 100, opts)
		if err != nil {
			t.Fatalf("cut %d: reopen: %v", cut, err)
		}
		sameIndexes(t, s, r)
		if _, err := r.Recover(0, nil); err != nil {
			t.Fatal(err)
		}
		sameIndexes(t, s, r)
		r.Close()
	}
}

func TestSegmentFindTimestamp(t *testing.T) {
	s := mustCreate(t, t.TempDir(), 0, Options{IndexIntervalBytes: 256})
	ws := fill(t, s, 100, 1000) // batch i has max timestamp 1000+10i
	cases := []struct {
		ts        int64
		wantBatch int // -1: none
	}{
		{0, 0}, {1000, 0}, {1001, 1}, {1010, 1}, {1555, 56}, {1990, 99}, {1991, -1},
	}
	for _, c := range cases {
		off, ts, found, err := s.FindTimestamp(c.ts)
		if err != nil {
			t.Fatal(err)
		}
		if c.wantBatch < 0 {
			if found {
				t.Fatalf("FindTimestamp(%d) found %d", c.ts, off)
			}
			continue
		}
		if !found || off != ws[c.wantBatch].base || ts != ws[c.wantBatch].maxTs {
			t.Fatalf("FindTimestamp(%d) = %d, %d, %v; want batch %d", c.ts, off, ts, found, c.wantBatch)
		}
	}
}

func TestSegmentAppendRejects(t *testing.T) {
	s := mustCreate(t, t.TempDir(), 10, Options{})
	if err := s.Append(makeBatch(5, 1, 10, 0)); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("offset below base: %v", err)
	}
	if err := s.Append(makeBatch(10, 1, 10, 0)[:40]); !errors.Is(err, batch.ErrShortBatch) {
		t.Fatalf("short batch: %v", err)
	}
	if err := s.Append(makeBatch(10+1<<32, 1, 10, 0)); !errors.Is(err, ErrOffsetOverflow) {
		t.Fatalf("overflowing offset: %v", err)
	}
	if s.Size() != 0 {
		t.Fatalf("rejected appends wrote %d bytes", s.Size())
	}
	if err := s.Append(makeBatch(10, 2, 10, 0)); err != nil {
		t.Fatalf("good append after rejects: %v", err)
	}
}

func TestSegmentDelete(t *testing.T) {
	dir := t.TempDir()
	s, err := Create(dir, 0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s, 3, 0)
	if err := s.Delete(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("files left after Delete: %v", entries)
	}
	if _, err := s.Read(0, 10, 100); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Delete: %v", err)
	}
}

func TestSegmentLazyIndex(t *testing.T) {
	dir := t.TempDir()
	opts := Options{IndexIntervalBytes: 500}
	s, err := Create(dir, 40, opts)
	if err != nil {
		t.Fatal(err)
	}
	ws := fill(t, s, 120, 1000)
	entries := s.IndexEntries()
	// Released in place: lookups read the files.
	if err := s.ReleaseIndex(); err != nil {
		t.Fatal(err)
	}
	if s.IndexResident() || s.IndexEntries() != entries {
		t.Fatalf("after ReleaseIndex: resident %v, %d entries (had %d)", s.IndexResident(), s.IndexEntries(), entries)
	}
	checkLookups(t, s, ws)
	checkTimestamps := func(s *Segment) {
		t.Helper()
		for i, w := range ws {
			off, ts, found, err := s.FindTimestamp(w.maxTs - 5)
			if err != nil || !found || off != w.base || ts != w.maxTs {
				t.Fatalf("FindTimestamp for batch %d = %d, %d, %v, %v", i, off, ts, found, err)
			}
		}
	}
	checkTimestamps(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Opened lazily: the same, and appends load the entries back.
	opts.LazyIndex = true
	r, err := Open(dir, 40, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.IndexResident() || r.NextOffset() != ws[len(ws)-1].last+1 || r.MaxTimestamp() != ws[len(ws)-1].maxTs {
		t.Fatalf("lazy open: resident %v next %d maxTs %d", r.IndexResident(), r.NextOffset(), r.MaxTimestamp())
	}
	checkLookups(t, r, ws)
	checkTimestamps(r)
	more := fill(t, r, 10, 5000)
	if !r.IndexResident() {
		t.Fatal("Append left the index on disk")
	}
	checkLookups(t, r, append(ws, more...))
	// Truncating a lazy segment loads it too.
	if err := r.ReleaseIndex(); err != nil {
		t.Fatal(err)
	}
	if next, err := r.TruncateTo(ws[60].base); err != nil || next != ws[60].base {
		t.Fatalf("TruncateTo on lazy segment: %d, %v", next, err)
	}
	checkLookups(t, r, ws[:60])
}

func TestSegmentForEachBatchLongScan(t *testing.T) {
	// Many small batches: the header scan refills and grows its buffer.
	s := mustCreate(t, t.TempDir(), 0, Options{IndexIntervalBytes: 1 << 20})
	var ws []written
	for i := 0; i < 2000; i++ {
		b := makeBatch(s.NextOffset(), 1, 10+i%50, int64(i))
		ws = append(ws, written{base: s.NextOffset(), pos: s.Size()})
		if err := s.Append(b); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	err := s.ForEachBatch(func(pos int64, h batch.Header) error {
		if pos != ws[i].pos || h.BaseOffset != ws[i].base {
			t.Fatalf("batch %d at %d offset %d, want %d, %d", i, pos, h.BaseOffset, ws[i].pos, ws[i].base)
		}
		i++
		return nil
	})
	if err != nil || i != len(ws) {
		t.Fatalf("ForEachBatch: %d batches, %v", i, err)
	}
	// Without index entries a lookup of the last batch scans everything.
	if pos, found, err := s.Lookup(ws[len(ws)-1].base); err != nil || !found || pos != ws[len(ws)-1].pos {
		t.Fatalf("Lookup(last) = %d, %v, %v", pos, found, err)
	}
	if off, _, found, err := s.FindTimestamp(1999); err != nil || !found || off != ws[1999].base {
		t.Fatalf("FindTimestamp(1999) = %d, %v, %v", off, found, err)
	}
}
