package commitlog

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
)

func TestLogAppendReadReopen(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Config{SegmentBytes: 64 << 10})
	if l.LogEndOffset() != 0 || l.LogStartOffset() != 0 {
		t.Fatalf("empty log: start %d end %d", l.LogStartOffset(), l.LogEndOffset())
	}
	if b, err := l.Read(0, 1<<20, 1<<62); err != nil || len(b) != 0 {
		t.Fatalf("Read at LEO of empty log: %d bytes, %v", len(b), err)
	}
	batches := appendN(t, l, 200, 10, 1000, 1_000)
	if l.LogEndOffset() != 2000 {
		t.Fatalf("LEO = %d, want 2000", l.LogEndOffset())
	}
	if l.NumSegments() < 3 {
		t.Fatalf("NumSegments = %d, want several at 64 KiB", l.NumSegments())
	}
	checkReads(t, l, batches)
	checkResident(t, l)
	if hs := readAll(t, l, 0, 1<<20); len(hs) != 200 {
		t.Fatalf("readAll: %d batches", len(hs))
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, CleanShutdownFile)); err != nil {
		t.Fatalf("no clean-shutdown marker: %v", err)
	}

	r := mustOpen(t, dir, Config{SegmentBytes: 64 << 10})
	if st := r.OpenStats(); !st.Clean || st.SegmentsScanned != 0 {
		t.Fatalf("reopen after clean Close: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(dir, CleanShutdownFile)); !os.IsNotExist(err) {
		t.Fatalf("clean-shutdown marker still there after Open: %v", err)
	}
	if r.LogEndOffset() != 2000 || r.RecoveryPoint() != 2000 {
		t.Fatalf("reopened LEO %d recovery point %d", r.LogEndOffset(), r.RecoveryPoint())
	}
	checkReads(t, r, batches)
	checkResident(t, r)
	more := appendN(t, r, 5, 3, 100, 5_000)
	if more[0].first != 2000 {
		t.Fatalf("first append after reopen got offset %d", more[0].first)
	}
	checkReads(t, r, append(batches, more...))
}

func TestLogAppendPatchesOffsetsAndEpoch(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{})
	var data []byte
	for i := 0; i < 3; i++ {
		data = append(data, makeBatch(9999, 4, 50, tsBase)...)
	}
	info, err := l.Append(data, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := AppendInfo{FirstOffset: 0, LastOffset: 11, MaxTimestamp: tsBase, OffsetOfMaxTimestamp: 0, Batches: 3, Records: 12, Bytes: len(data)}
	if info != want {
		t.Fatalf("AppendInfo = %+v, want %+v", info, want)
	}
	got, err := l.Read(0, 1<<20, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int64{0, 4, 8} {
		h, _, rest, err := batch.Next(got)
		if err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
		if h.BaseOffset != want || h.PartitionLeaderEpoch != 7 {
			t.Fatalf("batch %d: base %d epoch %d", i, h.BaseOffset, h.PartitionLeaderEpoch)
		}
		got = rest
	}
	if l.LatestEpoch() != 7 {
		t.Fatalf("LatestEpoch = %d", l.LatestEpoch())
	}
}

func TestLogAppendRejectsBadInput(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{MaxBatchBytes: 4096})
	appendN(t, l, 2, 2, 10, 0)
	good := func() []byte { return makeBatch(0, 2, 100, tsBase) }
	corrupt := good()
	corrupt[batch.HeaderSize+5] ^= 1
	badMagic := good()
	badMagic[16] = 1
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"corrupt CRC", corrupt, batch.ErrCorruptBatch},
		{"wrong magic", badMagic, batch.ErrInvalidMagic},
		{"too large", makeBatch(0, 1, 5000, 0), ErrBatchTooLarge},
		{"empty", nil, ErrEmptyAppend},
		{"torn", good()[:80], batch.ErrShortBatch},
		// All or nothing: good batches before and after a bad one.
		{"bad in the middle", append(append(good(), corrupt...), good()...), batch.ErrCorruptBatch},
		{"trailing bytes", append(good(), 1, 2, 3), batch.ErrShortBatch},
	}
	for _, c := range cases {
		leo, size := l.LogEndOffset(), l.Size()
		_, err := l.Append(c.data, 0)
		if !errors.Is(err, c.want) {
			t.Fatalf("%s: err %v, want %v", c.name, err, c.want)
		}
		if l.LogEndOffset() != leo || l.Size() != size {
			t.Fatalf("%s: log changed: LEO %d→%d size %d→%d", c.name, leo, l.LogEndOffset(), size, l.Size())
		}
	}
	// The log still works.
	if info, err := l.Append(good(), 0); err != nil || info.FirstOffset != 4 {
		t.Fatalf("Append after rejects: %+v, %v", info, err)
	}
}

func TestLogReadOutOfRange(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{})
	appendN(t, l, 3, 5, 10, 0)
	for _, off := range []int64{-1, 16, 1000} {
		_, err := l.Read(off, 100, 1<<62)
		var oor *OffsetOutOfRangeError
		if !errors.As(err, &oor) || !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("Read(%d): %v", off, err)
		}
		if oor.Requested != off || oor.LogStart != 0 || oor.LogEnd != 15 {
			t.Fatalf("Read(%d): %+v", off, oor)
		}
	}
	if b, err := l.Read(15, 100, 1<<62); err != nil || len(b) != 0 {
		t.Fatalf("Read(LEO) = %d bytes, %v", len(b), err)
	}
	// maxOffset hides batches at or past it.
	if b, err := l.Read(5, 1<<20, 5); err != nil || len(b) != 0 {
		t.Fatalf("Read at maxOffset = %d bytes, %v", len(b), err)
	}
	b, err := l.Read(0, 1<<20, 10)
	if err != nil {
		t.Fatal(err)
	}
	if hs := headers(t, b); len(hs) != 2 || hs[1].NextOffset() != 10 {
		t.Fatalf("Read(0, maxOffset 10) returned %d batches", len(hs))
	}
}

func headers(t *testing.T, b []byte) []batch.Header {
	t.Helper()
	var hs []batch.Header
	for len(b) > 0 {
		h, _, rest, err := batch.Next(b)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
		b = rest
	}
	return hs
}

func TestLogAppendReplicated(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{})
	b0 := makeBatch(0, 5, 20, tsBase)
	batch.SetPartitionLeaderEpoch(b0, 3)
	b1 := makeBatch(5, 2, 20, tsBase)
	batch.SetPartitionLeaderEpoch(b1, 4)
	info, err := l.AppendReplicated(append(append([]byte(nil), b0...), b1...))
	if err != nil || info.FirstOffset != 0 || info.LastOffset != 6 {
		t.Fatalf("AppendReplicated: %+v, %v", info, err)
	}
	if e, end := l.EndOffsetForEpoch(3); e != 3 || end != 5 {
		t.Fatalf("EndOffsetForEpoch(3) = %d, %d", e, end)
	}
	cases := []struct {
		name string
		data []byte
		want NonMonotonicError
	}{
		{"gap", makeBatch(8, 1, 20, tsBase), NonMonotonicError{Index: 0, Expected: 7, Got: 8}},
		{"overlap", makeBatch(6, 1, 20, tsBase), NonMonotonicError{Index: 0, Expected: 7, Got: 6}},
		{"second goes back", append(makeBatch(7, 3, 20, tsBase), makeBatch(8, 1, 20, tsBase)...), NonMonotonicError{Index: 1, Expected: 10, Got: 8}},
	}
	for _, c := range cases {
		_, err := l.AppendReplicated(c.data)
		var nm *NonMonotonicError
		if !errors.As(err, &nm) || !errors.Is(err, ErrNonMonotonic) || *nm != c.want {
			t.Fatalf("%s: %v, want %+v", c.name, err, c.want)
		}
		if l.LogEndOffset() != 7 {
			t.Fatalf("%s: LEO moved to %d", c.name, l.LogEndOffset())
		}
	}
	if _, err := l.AppendReplicated(makeBatch(7, 1, 20, tsBase)); err != nil {
		t.Fatalf("AppendReplicated after rejects: %v", err)
	}
}

func TestLogOpenBadDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, filepath.Join(file, "sub")} {
		_, err := Open(dir, Config{})
		var de *DirError
		if !errors.Is(err, ErrBadDir) || !errors.As(err, &de) || de.Path != dir {
			t.Fatalf("Open(%s): %v", dir, err)
		}
	}
	if _, err := Open(t.TempDir(), Config{SegmentBytes: -1}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Open with bad config: %v", err)
	}
}

func TestLogClosed(t *testing.T) {
	l, err := Open(t.TempDir(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(makeBatch(0, 1, 1, 0), 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if _, err := l.Read(0, 1, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestLogConfig(t *testing.T) {
	d := DefaultConfig()
	if d.SegmentBytes != 1<<30 || d.SegmentAge != 7*24*time.Hour || d.RetentionAge != 7*24*time.Hour ||
		d.MaxBatchBytes != 1048588 || d.IndexIntervalBytes != 4096 || d.FlushPolicy != FlushNever ||
		d.FlushInterval != 2*time.Millisecond || d.RetentionBytes != 0 {
		t.Fatalf("DefaultConfig = %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []Config{
		{SegmentBytes: -1},
		{SegmentBytes: 1 << 31},
		{SegmentAge: -time.Second},
		{MaxBatchBytes: -1},
		{IndexIntervalBytes: -1},
		{FlushPolicy: FlushAlways + 1},
		{FlushInterval: -time.Millisecond},
	}
	for _, c := range bad {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("Validate(%+v) = %v", c, err)
		}
	}
	for _, name := range []string{"never", "interval", "always"} {
		p, err := ParseFlushPolicy(name)
		if err != nil || p.String() != name {
			t.Fatalf("ParseFlushPolicy(%q) = %v, %v", name, p, err)
		}
	}
	if _, err := ParseFlushPolicy("sometimes"); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("ParseFlushPolicy(sometimes): %v", err)
	}
}

// checkResident asserts that only the active segment holds its index
// entries in memory.
func checkResident(t *testing.T, l *Log) {
	t.Helper()
	l.mu.RLock()
	defer l.mu.RUnlock()
	for i, s := range l.segments {
		if s.IndexResident() != (i == len(l.segments)-1) {
			t.Fatalf("segment %d of %d: index resident %v", i, len(l.segments), s.IndexResident())
		}
	}
}
