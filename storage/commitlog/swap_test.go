package commitlog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/segment"
)

// buildCleaned writes a log of 4 segments of 5 batches (2 records each,
// offsets 0-39) and a cleaned copy of the first two segments that keeps
// every other batch.
func buildCleaned(t *testing.T, dir string) (*Log, []stored, *segment.Segment, []stored) {
	t.Helper()
	l := mustOpen(t, dir, Config{SegmentBytes: 2_000})
	batches := appendN(t, l, 20, 2, 339, 0)
	if n := l.NumSegments(); n != 4 {
		t.Fatalf("%d segments", n)
	}
	cleaned, err := l.CreateCleanedSegment(0)
	if err != nil {
		t.Fatal(err)
	}
	var kept []stored
	for i := 0; i < 10; i += 2 {
		if err := cleaned.Append(batches[i].bytes); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, batches[i])
	}
	return l, batches, cleaned, kept
}

// checkCompacted asserts the log reads as the cleaned copy followed by the
// untouched segments: an offset compacted away reads the next batch kept.
func checkCompacted(t *testing.T, l *Log, batches, kept []stored) {
	t.Helper()
	if got := l.Segments(); len(got) < 3 || got[0].BaseOffset != 0 || got[1].BaseOffset != 20 {
		t.Fatalf("segments %+v", got)
	}
	checkReads(t, l, append(append([]stored(nil), kept...), batches[10:]...))
	for off, want := range map[int64]int64{2: 4, 3: 4, 18: 20, 19: 20} {
		b, err := l.Read(off, 1, 1<<62)
		if err != nil {
			t.Fatal(err)
		}
		if h, _ := batch.ParseHeader(b); h.BaseOffset != want {
			t.Fatalf("Read(%d) = batch %d, want %d", off, h.BaseOffset, want)
		}
		r, err := l.ReadRange(off, 1, 1<<62)
		if err != nil {
			t.Fatal(err)
		}
		if r.BaseOffset != want || r.Size != int64(len(b)) {
			t.Fatalf("ReadRange(%d) = batch %d of %d bytes, want %d of %d", off, r.BaseOffset, r.Size, want, len(b))
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if hs := readAll(t, l, 0, 1<<20); len(hs) < 15 || hs[14].BaseOffset != 38 {
		t.Fatalf("readAll: %d batches, want 15 up to offset 39", len(hs))
	}
	entries, err := os.ReadDir(l.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), SwapSuffix) || strings.HasSuffix(e.Name(), CleanedSuffix) || strings.HasPrefix(e.Name(), segment.FileName(10, "")) {
			t.Fatalf("file %s left after the swap", e.Name())
		}
	}
}

func TestLogReplaceSegments(t *testing.T) {
	dir := t.TempDir()
	l, batches, cleaned, kept := buildCleaned(t, dir)
	if err := l.ReplaceSegments([]int64{0, 10}, cleaned); err != nil {
		t.Fatal(err)
	}
	checkCompacted(t, l, batches, kept)
	// The active segment cannot be replaced, nor a run with a hole, nor
	// something that is not a segment.
	for _, old := range [][]int64{{0, 20, 30}, {0, 30}, {20, 30}, {5}} {
		bad, err := l.CreateCleanedSegment(old[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := l.ReplaceSegments(old, bad); !errors.Is(err, ErrSwap) {
			t.Fatalf("ReplaceSegments(%v): %v", old, err)
		}
	}
	checkCompacted(t, l, batches, kept)
	if info, err := l.Append(makeBatch(0, 1, 10, tsBase), 0); err != nil || info.FirstOffset != 40 {
		t.Fatalf("append after swap: %+v, %v", info, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := mustOpen(t, dir, Config{SegmentBytes: 2_000})
	if !r.OpenStats().Clean {
		t.Fatalf("reopen: %+v", r.OpenStats())
	}
	checkCompacted(t, r, batches, kept)
}

func TestLogRecoverHalfDoneSwap(t *testing.T) {
	dir := t.TempDir()
	l, batches, cleaned, kept := buildCleaned(t, dir)
	// Crash after staging the swap and deleting part of the old segments.
	if err := cleaned.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := cleaned.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range cleaned.Files() {
		if err := os.Rename(p, strings.TrimSuffix(p, CleanedSuffix)+SwapSuffix); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Remove(filepath.Join(dir, segment.FileName(10, segment.LogSuffix))); err != nil {
		t.Fatal(err)
	}
	// A compactor's unfinished output is dropped.
	if err := os.WriteFile(filepath.Join(dir, segment.FileName(20, segment.LogSuffix)+CleanedSuffix), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	crash(t, l)
	r := mustOpen(t, dir, Config{SegmentBytes: 2_000})
	checkCompacted(t, r, batches, kept)
}
