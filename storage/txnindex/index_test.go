package txnindex

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestAppendCollect(t *testing.T) {
	dir := t.TempDir()
	x, err := Open(nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	// Segment 0: txn of producer 1 at 2-9 aborted at 10 while producer 2's
	// (from 5) is open; segment 100: producer 2 aborted at 120, then
	// producer 3 (150-160) at 170.
	entries := []struct {
		base int64
		e    Entry
	}{
		{0, Entry{ProducerID: 1, FirstOffset: 2, LastOffset: 10, LastStableOffset: 5}},
		{100, Entry{ProducerID: 2, FirstOffset: 5, LastOffset: 120, LastStableOffset: 121}},
		{100, Entry{ProducerID: 3, FirstOffset: 150, LastOffset: 170, LastStableOffset: 171}},
	}
	for _, c := range entries {
		if err := x.Append(c.base, c.e); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Sync(); err != nil {
		t.Fatal(err)
	}
	pids := func(es []Entry) []int64 {
		var out []int64
		for _, e := range es {
			out = append(out, e.ProducerID)
		}
		return out
	}
	for _, c := range []struct {
		from, upTo int64
		want       []int64
	}{
		{0, 3, []int64{1}}, // producer 2's records start at 5
		{0, 6, []int64{1, 2}},
		{11, 50, []int64{2}},   // producer 2's records 5-119 overlap
		{121, 150, nil},        // nothing aborted starts before 150 and ends after 121
		{121, 151, []int64{3}}, // producer 3 from 150
		{171, 500, nil},
	} {
		got, err := x.Collect(c.from, c.upTo)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(pids(got), c.want) {
			t.Errorf("Collect(%d, %d) = %v, want %v", c.from, c.upTo, pids(got), c.want)
		}
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened, the same; truncation and retention drop entries and files.
	x, err = Open(nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := x.Collect(0, 1000); !slices.Equal(pids(got), []int64{1, 2, 3}) {
		t.Fatalf("after reopen %v", pids(got))
	}
	if err := x.TruncateFrom(150); err != nil {
		t.Fatal(err)
	}
	if got, _ := x.Collect(0, 1000); !slices.Equal(pids(got), []int64{1, 2}) {
		t.Fatalf("after truncation to 150 %v", pids(got))
	}
	if err := x.TruncateFrom(100); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, Name(100))); !os.IsNotExist(err) {
		t.Fatalf("index of segment 100 kept after truncation to 100: %v", err)
	}
	if err := x.Append(100, entries[1].e); err != nil {
		t.Fatal(err)
	}
	if err := x.DeleteBefore(100); err != nil {
		t.Fatal(err)
	}
	if got, _ := x.Collect(0, 1000); !slices.Equal(pids(got), []int64{2}) {
		t.Fatalf("after retention %v", pids(got))
	}
	// A marker of a segment compaction merged into an earlier base goes
	// to the last file, after the entries there.
	late := Entry{ProducerID: 4, FirstOffset: 130, LastOffset: 140, LastStableOffset: 141}
	if err := x.Append(50, late); err != nil {
		t.Fatal(err)
	}
	if got, _ := x.Collect(135, 1000); !slices.Equal(pids(got), []int64{4}) {
		t.Fatalf("entry appended behind the last file: %v", pids(got))
	}
	if _, err := os.Stat(filepath.Join(dir, Name(50))); !os.IsNotExist(err) {
		t.Fatalf("a file behind the last one was created: %v", err)
	}
}

// A crash mid-append leaves a torn entry: Open cuts it and keeps the
// rest; a file with a damaged entry is refused when read.
func TestTornAndCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	good := AppendEntry(AppendEntry(nil, Entry{ProducerID: 1, FirstOffset: 0, LastOffset: 3, LastStableOffset: 4}),
		Entry{ProducerID: 2, FirstOffset: 5, LastOffset: 9, LastStableOffset: 10})
	if err := os.WriteFile(filepath.Join(dir, Name(0)), append(bytes.Clone(good), 0, 0, 7), 0o644); err != nil {
		t.Fatal(err)
	}
	x, err := Open(nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := x.Collect(0, 100)
	if err != nil || len(got) != 2 {
		t.Fatalf("after a torn tail: %v %v", got, err)
	}
	if st, _ := os.Stat(filepath.Join(dir, Name(0))); st.Size() != int64(len(good)) {
		t.Fatalf("torn tail kept: %d bytes", st.Size())
	}
	bad := bytes.Clone(good)
	bad[EntrySize+1] = 9 // version of the second entry
	if err := os.WriteFile(filepath.Join(dir, Name(0)), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Collect(0, 100); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged entry: %v", err)
	}
	// Opened, the damage is reported for a rebuild; Reset empties it.
	x, err = Open(nil, dir)
	if err != nil || !x.Damaged() {
		t.Fatalf("open of a damaged index: damaged %v, %v", x != nil && x.Damaged(), err)
	}
	if err := x.Reset(); err != nil || x.Damaged() {
		t.Fatalf("reset: %v", err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*"+Suffix)); len(files) != 0 {
		t.Fatalf("files left after reset: %v", files)
	}
}

// FuzzDecode: the entry reader never panics, and what it accepts
// encodes back to the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add(AppendEntry(nil, Entry{ProducerID: 1, FirstOffset: 0, LastOffset: 3, LastStableOffset: 4}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := Decode(b)
		if err != nil {
			return
		}
		var again []byte
		for _, e := range entries {
			again = AppendEntry(again, e)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("accepted bytes re-encode differently")
		}
	})
}
