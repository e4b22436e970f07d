package commitlog

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/segment"
)

var recoveryConfig = Config{SegmentBytes: 4_000, IndexIntervalBytes: 300}

// buildCrashed writes a log of several segments with varying batch sizes
// and epochs, flushes after flushAfter batches (none if < 0), and crashes.
func buildCrashed(t *testing.T, flushAfter int) (string, []stored) {
	t.Helper()
	dir := t.TempDir()
	l := mustOpen(t, dir, recoveryConfig)
	var batches []stored
	for i := 0; i < 40; i++ {
		b := makeBatch(0, 1+i%4, 100+(i*53)%400, tsBase+int64(i))
		info, err := l.Append(b, int32(i/10))
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, stored{first: info.FirstOffset, last: info.LastOffset, maxTs: tsBase + int64(i), bytes: b})
		if i == flushAfter {
			if err := l.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if l.NumSegments() < 4 {
		t.Fatalf("only %d segments", l.NumSegments())
	}
	crash(t, l)
	return dir, batches
}

// locate returns the segment file and position of a batch.
func locate(t *testing.T, dir string, batches []stored, i int) (string, int64) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var base int64 = -1
	for _, e := range entries {
		if b, suffix, ok := parseSegmentName(e.Name()); ok && suffix == segment.LogSuffix && b <= batches[i].first && b > base {
			base = b
		}
	}
	var pos int64
	for _, s := range batches[:i] {
		if s.first >= base {
			pos += int64(len(s.bytes))
		}
	}
	return filepath.Join(dir, segment.FileName(base, segment.LogSuffix)), pos
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		out.Close()
	}
	return dst
}

// checkRecovered reopens dir and asserts that exactly batches[:keep]
// survived, each offset reads back, and appends continue after them.
func checkRecovered(t *testing.T, dir string, batches []stored, keep int) *Log {
	t.Helper()
	l := mustOpen(t, dir, recoveryConfig)
	want := int64(0)
	if keep > 0 {
		want = batches[keep-1].last + 1
	}
	if l.LogEndOffset() != want {
		t.Fatalf("LEO = %d, want %d (stats %+v)", l.LogEndOffset(), want, l.OpenStats())
	}
	checkReads(t, l, batches[:keep])
	if got := readAll(t, l, 0, 1<<20); len(got) != keep {
		t.Fatalf("readAll: %d batches, want %d", len(got), keep)
	}
	info, err := l.Append(makeBatch(0, 2, 50, tsBase), 9)
	if err != nil || info.FirstOffset != want {
		t.Fatalf("append after recovery: %+v, %v; want offset %d", info, err, want)
	}
	return l
}

func TestLogRecoverTornLastBatch(t *testing.T) {
	template, batches := buildCrashed(t, -1)
	last := len(batches) - 1
	path, pos := locate(t, template, batches, last)
	size := int64(len(batches[last].bytes))
	// Cuts all through the header (every 4th byte and its last ones) and
	// spread over the records section, up to one byte short.
	var cuts []int64
	for c := int64(1); c < size; c++ {
		if (c <= batch.HeaderSize+1 && (c%4 == 1 || c >= batch.HeaderSize-1)) || c%23 == 0 || c == size-1 {
			cuts = append(cuts, c)
		}
	}
	for _, c := range cuts {
		dir := copyDir(t, template)
		if err := os.Truncate(filepath.Join(dir, filepath.Base(path)), pos+c); err != nil {
			t.Fatal(err)
		}
		l := checkRecovered(t, dir, batches, last)
		if st := l.OpenStats(); st.Clean || st.BytesTruncated != c {
			t.Fatalf("cut %d: stats %+v", c, st)
		}
		crash(t, l)
	}
	// No damage at all: everything survives an unclean stop.
	checkRecovered(t, copyDir(t, template), batches, len(batches))
}

func TestLogRecoverFlippedByte(t *testing.T) {
	template, batches := buildCrashed(t, -1)
	cases := []struct {
		name   string
		batch  int
		offset int64 // byte within the batch
	}{
		{"last segment, records", len(batches) - 3, batch.HeaderSize + 10},
		{"last segment, header crc", len(batches) - 2, 18},
		{"earlier segment, records", 6, batch.HeaderSize + 1},
		{"earlier segment, length", 12, 10},
		{"first batch", 0, 30},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyDir(t, template)
			path, pos := locate(t, dir, batches, c.batch)
			flip(t, path, pos+c.offset)
			l := checkRecovered(t, dir, batches, c.batch)
			if st := l.OpenStats(); st.Clean || st.BytesTruncated == 0 {
				t.Fatalf("stats %+v", st)
			}
			for _, s := range l.Segments() {
				if s.BaseOffset > batches[c.batch].first {
					t.Fatalf("segment %d after the damage survived", s.BaseOffset)
				}
			}
			// Epochs after the damage are gone from the cache.
			for _, e := range l.EpochEntries() {
				if e.StartOffset > batches[c.batch].first {
					t.Fatalf("epoch %+v survived", e)
				}
			}
		})
	}
}

func flip(t *testing.T, path string, pos int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	if _, err := f.ReadAt(b, pos); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x10
	if _, err := f.WriteAt(b, pos); err != nil {
		t.Fatal(err)
	}
}

func TestLogRecoverFromRecoveryPoint(t *testing.T) {
	dir, batches := buildCrashed(t, 29)
	l := checkRecovered(t, dir, batches, len(batches))
	st := l.OpenStats()
	if st.Clean || st.SegmentsScanned == 0 || st.SegmentsScanned >= len(l.Segments()) {
		t.Fatalf("stats %+v with %d segments: want only the tail scanned", st, len(l.Segments()))
	}
	if l.RecoveryPoint() != batches[len(batches)-1].last+1 { // not yet covering the append of checkRecovered
		t.Fatalf("recovery point %d", l.RecoveryPoint())
	}
	// The leader-epoch cache was rebuilt for the scanned range.
	if e, end := l.EndOffsetForEpoch(2); e != 2 || end != batches[30].first {
		t.Fatalf("EndOffsetForEpoch(2) = %d, %d; want 2, %d", e, end, batches[30].first)
	}
}

func TestLogRecoverMissingCheckpoints(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, recoveryConfig)
	batches := appendN(t, l, 30, 2, 300, 0)
	if err := l.AssignEpoch(4, 60); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{OffsetsCheckpointFile, LeaderEpochCheckpointFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	r := mustOpen(t, dir, recoveryConfig)
	if st := r.OpenStats(); st.Clean || st.SegmentsScanned != r.NumSegments() {
		t.Fatalf("stats %+v", st)
	}
	checkReads(t, r, batches)
	if r.LatestEpoch() != 0 {
		t.Fatalf("rebuilt epoch cache: %+v", r.EpochEntries())
	}
}

func TestLogRecoverCorruptIndexAfterCleanClose(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, recoveryConfig)
	batches := appendN(t, l, 30, 2, 300, 0)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// A clean marker with a damaged index: that segment is rebuilt.
	idx := filepath.Join(dir, segment.FileName(0, segment.IndexSuffix))
	if err := os.WriteFile(idx, []byte{1, 2, 3}, 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustOpen(t, dir, recoveryConfig)
	if st := r.OpenStats(); st.Clean || st.SegmentsScanned != 1 {
		t.Fatalf("stats %+v", st)
	}
	checkReads(t, r, batches)
}

func TestLogRebuildEpochsAfterCleanClose(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, recoveryConfig)
	for ep := int32(0); ep < 3; ep++ {
		for i := 0; i < 15; i++ { // 15 small batches per epoch, several segments
			if _, err := l.Append(makeBatch(0, 2, 100, tsBase), ep); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := l.EpochEntries()
	if len(want) != 3 {
		t.Fatalf("epochs %+v", want)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, LeaderEpochCheckpointFile)); err != nil {
		t.Fatal(err)
	}
	r := mustOpen(t, dir, recoveryConfig)
	if st := r.OpenStats(); !st.Clean {
		t.Fatalf("stats %+v: a missing epoch file needs no segment scan", st)
	}
	checkEpochs(t, r, want)
}
