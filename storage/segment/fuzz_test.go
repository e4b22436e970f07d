package segment

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-mq/sluice/storage/batch"
)

func seedLog() []byte {
	var b []byte
	for i := 0; i < 6; i++ {
		b = append(b, makeBatch(int64(i*3), 3, 40+i*30, int64(1000+i))...)
	}
	return b
}

// FuzzSegmentRecover feeds arbitrary bytes as a .log file: Recover must
// not panic, must keep a prefix made of whole valid batches, and a second
// Recover must keep exactly the same.
func FuzzSegmentRecover(f *testing.F) {
	good := seedLog()
	f.Add(good)
	f.Add(good[:len(good)-7])
	f.Add(append(append([]byte(nil), good...), 0, 0, 0, 9))
	f.Add([]byte{})
	f.Fuzz(checkRecover)
}

func checkRecover(t *testing.T, data []byte) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName(0, LogSuffix)), data, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, 0, Options{IndexIntervalBytes: 64})
	if err != nil && !errors.Is(err, ErrCorruptIndex) {
		t.Fatalf("Open: %v", err)
	}
	res, err := s.Recover(1<<20, nil)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if s.Size() > int64(len(data)) || res.TruncatedBytes != int64(len(data))-s.Size() {
		t.Fatalf("size %d of %d, truncated %d", s.Size(), len(data), res.TruncatedBytes)
	}
	n := 0
	for rest := data[:s.Size()]; len(rest) > 0; n++ {
		_, _, next, err := batch.Next(rest)
		if err != nil {
			t.Fatalf("kept prefix has a bad batch: %v", err)
		}
		rest = next
	}
	if n != res.Batches {
		t.Fatalf("kept %d batches, reported %d", n, res.Batches)
	}
	size, next := s.Size(), s.NextOffset()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir, 0, Options{IndexIntervalBytes: 64})
	if err != nil {
		t.Fatalf("reopen after Recover: %v", err)
	}
	defer r.Close()
	if res2, err := r.Recover(1<<20, nil); err != nil || res2.Err != nil || r.Size() != size || r.NextOffset() != next {
		t.Fatalf("second Recover = %+v, %v", res2, err)
	}
}

// FuzzSegmentOpenIndex feeds arbitrary bytes as the .index of a valid
// log: Open must reject it with ErrCorruptIndex, or every lookup must
// either find the right batch or fail with ErrCorruptIndex; a lookup never
// returns the wrong batch.
func FuzzSegmentOpenIndex(f *testing.F) {
	dir := f.TempDir()
	s, err := Create(dir, 0, Options{IndexIntervalBytes: 64})
	if err != nil {
		f.Fatal(err)
	}
	log := seedLog()
	if err := s.Append(log); err != nil {
		f.Fatal(err)
	}
	if err := s.Close(); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, FileName(0, IndexSuffix)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-8])
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, index []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName(0, LogSuffix)), log, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, FileName(0, IndexSuffix)), index, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, lazy := range []bool{false, true} {
			checkIndexLookups(t, dir, lazy, index)
		}
	})
}

func checkIndexLookups(t *testing.T, dir string, lazy bool, index []byte) {
	t.Helper()
	s, err := Open(dir, 0, Options{IndexIntervalBytes: 64, LazyIndex: lazy})
	if errors.Is(err, ErrCorruptIndex) {
		s.Close()
		return
	}
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	for off := int64(0); off < 18; off++ {
		b, err := s.Read(off, 1, 1<<62)
		if errors.Is(err, ErrCorruptIndex) {
			continue // detected at lookup: never wrong data
		}
		if err != nil {
			t.Fatalf("Read(%d) with accepted index %x: %v", off, index, err)
		}
		h, err := batch.ParseHeader(b)
		if err != nil || h.BaseOffset > off || h.LastOffset() < off {
			t.Fatalf("Read(%d) with accepted index %x returned batch %d (%v)", off, index, h.BaseOffset, err)
		}
	}
}

// FuzzSegmentRecoverFrom feeds arbitrary bytes as the .index and
// .timeindex of a valid log, possibly torn, recovered from a recovery
// point: RecoverFrom must not fail or panic, must keep whole batches
// only, and a read afterwards returns the right batch or ErrCorruptIndex,
// never a wrong one.
func FuzzSegmentRecoverFrom(f *testing.F) {
	dir := f.TempDir()
	s, err := Create(dir, 0, Options{IndexIntervalBytes: 64})
	if err != nil {
		f.Fatal(err)
	}
	log := seedLog()
	if err := s.Append(log); err != nil {
		f.Fatal(err)
	}
	if err := s.Close(); err != nil {
		f.Fatal(err)
	}
	index, err := os.ReadFile(filepath.Join(dir, FileName(0, IndexSuffix)))
	if err != nil {
		f.Fatal(err)
	}
	times, err := os.ReadFile(filepath.Join(dir, FileName(0, TimeIndexSuffix)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(index, times, uint8(9), uint16(0))
	f.Add(index, times, uint8(12), uint16(7))
	f.Add(index[:len(index)-3], times, uint8(6), uint16(100))
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0}, []byte{}, uint8(3), uint16(0))
	f.Fuzz(func(t *testing.T, index, times []byte, offset uint8, tear uint16) {
		dir := t.TempDir()
		torn := log[:len(log)-int(tear)%len(log)]
		for name, data := range map[string][]byte{LogSuffix: torn, IndexSuffix: index, TimeIndexSuffix: times} {
			if err := os.WriteFile(filepath.Join(dir, FileName(0, name)), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		s, err := Open(dir, 0, Options{IndexIntervalBytes: 64})
		if err != nil && !errors.Is(err, ErrCorruptIndex) {
			t.Fatalf("Open: %v", err)
		}
		res, err := s.RecoverFrom(int64(offset%20), 1<<20, nil)
		if err != nil {
			t.Fatalf("RecoverFrom: %v", err)
		}
		if s.Size() > int64(len(torn)) || res.TruncatedBytes != int64(len(torn))-s.Size() || res.ScannedBytes > int64(len(torn)) {
			t.Fatalf("size %d of %d, %+v", s.Size(), len(torn), res)
		}
		for rest := torn[:s.Size()]; len(rest) > 0; {
			_, _, next, err := batch.Next(rest)
			if err != nil {
				t.Fatalf("kept prefix has a bad batch: %v", err)
			}
			rest = next
		}
		next := s.NextOffset()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := Open(dir, 0, Options{IndexIntervalBytes: 64})
		if errors.Is(err, ErrCorruptIndex) {
			r.Close()
			return
		}
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer r.Close()
		for off := int64(0); off < next; off++ {
			b, err := r.Read(off, 1, 1<<62)
			if errors.Is(err, ErrCorruptIndex) {
				continue // detected at lookup: never wrong data
			}
			if err != nil {
				t.Fatalf("Read(%d) of %d: %v", off, next, err)
			}
			h, err := batch.ParseHeader(b)
			if err != nil || h.BaseOffset > off || h.LastOffset() < off {
				t.Fatalf("Read(%d) returned batch %d (%v)", off, h.BaseOffset, err)
			}
		}
	})
}
