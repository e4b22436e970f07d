package commitlog

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/checkpoint"
	"github.com/sluice-mq/sluice/storage/segment"
)

var recoveryConfig = Config{SegmentBytes: 4_000, IndexIntervalBytes: 300}

// buildCrashed writes a log of several segments with varying batch sizes
// and epochs and crashes it. If checkpointAfter >= 0 the log runs with the
// group commit and a running offsets checkpoint, and the appends after
// batch checkpointAfter start once that checkpoint covers it.
func buildCrashed(t *testing.T, checkpointAfter int) (string, []stored) {
	t.Helper()
	dir := t.TempDir()
	cfg, opts := recoveryConfig, []Option(nil)
	if checkpointAfter >= 0 {
		f := NewFlusher(0, WithCheckpointInterval(2*time.Millisecond))
		t.Cleanup(f.Close)
		cfg.FlushPolicy = FlushInterval
		opts = append(opts, WithFlusher(f))
	}
	l := mustOpen(t, dir, cfg, opts...)
	var batches []stored
	for i := 0; i < 40; i++ {
		b := makeBatch(0, 1+i%4, 100+(i*53)%400, tsBase+int64(i))
		info, err := l.Append(b, int32(i/10))
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, stored{first: info.FirstOffset, last: info.LastOffset, maxTs: tsBase + int64(i), bytes: b})
		if i == checkpointAfter {
			waitFor(t, func() bool { return checkpointedRecoveryPoint(t, dir) > info.LastOffset })
		}
	}
	if l.NumSegments() < 4 {
		t.Fatalf("only %d segments", l.NumSegments())
	}
	crash(t, l)
	return dir, batches
}

// checkpointedRecoveryPoint reads the recovery point of the offsets
// checkpoint in dir, -1 if there is none.
func checkpointedRecoveryPoint(t *testing.T, dir string) int64 {
	t.Helper()
	offsets, err := checkpoint.ReadOffsets(filepath.Join(dir, OffsetsCheckpointFile))
	if errors.Is(err, checkpoint.ErrNotExist) {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	return offsets[keyRecoveryPoint]
}

// waitFor polls cond until it holds or 10 seconds pass.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(time.Millisecond)
	}
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

// TestLogRecoverFromRecoveryPoint crashes a log whose recovery point was
// checkpointed by the Flusher while it ran: recovery verifies exactly the
// bytes after the checkpointed recovery point, a fraction of the log.
func TestLogRecoverFromRecoveryPoint(t *testing.T) {
	dir, batches := buildCrashed(t, 29)
	rp := checkpointedRecoveryPoint(t, dir)
	var after, total int64
	for _, b := range batches {
		total += int64(len(b.bytes))
		if b.first >= rp {
			after += int64(len(b.bytes))
		}
	}
	if rp <= batches[29].last {
		t.Fatalf("checkpointed recovery point %d, want above %d", rp, batches[29].last)
	}
	l := checkRecovered(t, dir, batches, len(batches))
	st := l.OpenStats()
	if st.Clean || st.BytesScanned != after || st.SegmentsScanned >= len(l.Segments()) {
		t.Fatalf("stats %+v with %d segments, %d bytes after recovery point %d: want only those scanned",
			st, len(l.Segments()), after, rp)
	}
	if 4*st.BytesScanned > total {
		t.Fatalf("scanned %d of %d bytes", st.BytesScanned, total)
	}
	t.Logf("recovery point %d: scanned %d of %d log bytes in %d of %d segments", rp, st.BytesScanned, total, st.SegmentsScanned, len(l.Segments()))
	if l.RecoveryPoint() != batches[len(batches)-1].last+1 { // not yet covering the append of checkRecovered
		t.Fatalf("recovery point %d", l.RecoveryPoint())
	}
	// The leader-epoch cache is intact for the trusted and the scanned range.
	if e, end := l.EndOffsetForEpoch(2); e != 2 || end != batches[30].first {
		t.Fatalf("EndOffsetForEpoch(2) = %d, %d; want 2, %d", e, end, batches[30].first)
	}
}

// TestLogRecoverInsideActiveSegment crashes a log whose recovery point
// lies inside its only segment: the bytes below it are not verified again,
// the rest is, and a torn tail is still cut.
func TestLogRecoverInsideActiveSegment(t *testing.T) {
	dir := t.TempDir()
	f := NewFlusher(0, WithCheckpointInterval(2*time.Millisecond))
	t.Cleanup(f.Close)
	cfg := Config{IndexIntervalBytes: 300, FlushPolicy: FlushInterval}
	l := mustOpen(t, dir, cfg, WithFlusher(f))
	batches := appendN(t, l, 50, 3, 200, 0)
	last := batches[len(batches)-1]
	waitFor(t, func() bool { return checkpointedRecoveryPoint(t, dir) > last.last })
	tail := appendN(t, l, 5, 2, 150, 100)
	crash(t, l)
	rp := checkpointedRecoveryPoint(t, dir)
	var after int64
	for _, b := range append(batches, tail...) {
		if b.first >= rp {
			after += int64(len(b.bytes))
		}
	}
	// Tear the last batch.
	path := filepath.Join(dir, segment.FileName(0, segment.LogSuffix))
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, st.Size()-10); err != nil {
		t.Fatal(err)
	}
	all := append(batches, tail...)
	r := checkRecovered(t, dir, all, len(all)-1)
	rs := r.OpenStats()
	if rs.SegmentsScanned != 1 || rs.BytesScanned != after-10 || rs.BytesTruncated != int64(len(tail[len(tail)-1].bytes))-10 {
		t.Fatalf("stats %+v; want %d bytes after recovery point %d scanned", rs, after-10, rp)
	}
	// Timestamps of the trusted part still index.
	if off, _, err := r.OffsetForTimestamp(tsBase + 10); err != nil || off != batches[10].first {
		t.Fatalf("OffsetForTimestamp = %d, %v; want %d", off, err, batches[10].first)
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
