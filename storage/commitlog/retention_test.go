package commitlog

import (
	"errors"
	"testing"
	"time"
)

func TestLogRetentionByTime(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{SegmentBytes: 2_000, RetentionAge: time.Hour})
	// Segment i (5 batches of 400 bytes) has max timestamp tsBase + 10 min * i.
	var batches []stored
	for i := 0; i < 6; i++ {
		for j := 0; j < 5; j++ {
			batches = append(batches, appendN(t, l, 1, 2, 339, int64(i)*time.Minute.Milliseconds()*10)...)
		}
	}
	if l.NumSegments() != 6 {
		t.Fatalf("%d segments", l.NumSegments())
	}
	now := time.UnixMilli(tsBase).Add(time.Hour + 25*time.Minute) // segments 0, 1, 2 are older than an hour
	// Nothing is deleted above the high watermark.
	if n, err := l.EnforceRetention(now); err != nil || n != 0 {
		t.Fatalf("retention with HW 0: %d, %v", n, err)
	}
	l.SetHighWatermark(l.LogEndOffset())
	n, err := l.EnforceRetention(now)
	if err != nil || n != 3 {
		t.Fatalf("EnforceRetention = %d, %v; want 3", n, err)
	}
	if l.LogStartOffset() != batches[15].first {
		t.Fatalf("LogStartOffset = %d, want %d", l.LogStartOffset(), batches[15].first)
	}
	var oor *OffsetOutOfRangeError
	if _, err := l.Read(batches[14].last, 100, 1<<62); !errors.As(err, &oor) || oor.LogStart != batches[15].first {
		t.Fatalf("Read below log start: %v", err)
	}
	checkReads(t, l, batches[15:])
	// The active segment is never deleted, even when expired.
	n, err = l.EnforceRetention(now.Add(100 * time.Hour))
	if err != nil || n != 2 || l.NumSegments() != 1 {
		t.Fatalf("second EnforceRetention = %d, %v, %d segments", n, err, l.NumSegments())
	}
	// Negative RetentionAge keeps everything.
	k := mustOpen(t, t.TempDir(), Config{SegmentBytes: 2_000, RetentionAge: -1})
	appendN(t, k, 20, 2, 339, 0)
	k.SetHighWatermark(k.LogEndOffset())
	if n, err := k.EnforceRetention(time.Now().Add(1000 * time.Hour)); err != nil || n != 0 {
		t.Fatalf("retention forever: %d, %v", n, err)
	}
}

func TestLogRetentionByBytes(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Config{SegmentBytes: 2_000, RetentionBytes: 5_000})
	batches := appendN(t, l, 32, 2, 339, 0) // 6 full segments of 2000 bytes + one with 800
	l.SetHighWatermark(l.LogEndOffset())
	n, err := l.EnforceRetention(time.UnixMilli(tsBase))
	if err != nil {
		t.Fatal(err)
	}
	// 12800 bytes in segments of 2000: a segment goes while at least
	// 5000 bytes remain without it, so three go and 6800 bytes stay.
	if n != 3 || l.Size() != 6_800 {
		t.Fatalf("EnforceRetention = %d, size %d", n, l.Size())
	}
	if l.LogStartOffset() != batches[15].first {
		t.Fatalf("LogStartOffset %d, want %d", l.LogStartOffset(), batches[15].first)
	}
	checkReads(t, l, batches[15:])
	// The new log start survives a reopen.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := mustOpen(t, dir, Config{SegmentBytes: 2_000, RetentionBytes: 5_000})
	if r.LogStartOffset() != batches[15].first || r.LogEndOffset() != batches[31].last+1 {
		t.Fatalf("reopened: start %d end %d", r.LogStartOffset(), r.LogEndOffset())
	}
}

func TestLogDeleteRecordsBefore(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Config{SegmentBytes: 2_000})
	batches := appendN(t, l, 20, 2, 339, 0)
	if _, err := l.DeleteRecordsBefore(11); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("DeleteRecordsBefore above HW: %v", err)
	}
	l.SetHighWatermark(l.LogEndOffset())
	if _, err := l.DeleteRecordsBefore(13); err != nil {
		t.Fatal(err)
	}
	if l.LogStartOffset() != 13 || l.NumSegments() != 3 {
		t.Fatalf("start %d, %d segments", l.LogStartOffset(), l.NumSegments())
	}
	if _, err := l.Read(12, 10, 1<<62); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("Read(12): %v", err)
	}
	checkReads(t, l, batches[7:])
	// Persisted at once: survives a crash.
	crash(t, l)
	r := mustOpen(t, dir, Config{SegmentBytes: 2_000})
	if r.LogStartOffset() != 13 {
		t.Fatalf("after crash: start %d", r.LogStartOffset())
	}
}

func TestLogTruncateTo(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, Config{SegmentBytes: 2_000, IndexIntervalBytes: 500})
	batches := appendN(t, l, 25, 2, 339, 0) // 5 segments of 5 batches
	l.SetHighWatermark(40)
	// Truncating inside a batch drops the whole batch.
	if err := l.TruncateTo(31); err != nil {
		t.Fatal(err)
	}
	if l.LogEndOffset() != 30 || l.NumSegments() != 4 || l.HighWatermark() != 30 {
		t.Fatalf("after TruncateTo(31): LEO %d, %d segments, HW %d", l.LogEndOffset(), l.NumSegments(), l.HighWatermark())
	}
	// Exactly at a segment boundary: the segment stays, empty.
	if err := l.TruncateTo(20); err != nil {
		t.Fatal(err)
	}
	if l.LogEndOffset() != 20 || l.NumSegments() != 3 {
		t.Fatalf("after TruncateTo(20): LEO %d, %d segments", l.LogEndOffset(), l.NumSegments())
	}
	if err := l.TruncateTo(50); err != nil || l.LogEndOffset() != 20 {
		t.Fatalf("TruncateTo past the end: %v, LEO %d", err, l.LogEndOffset())
	}
	if b, err := l.Read(20, 100, 1<<62); err != nil || len(b) != 0 {
		t.Fatalf("Read(LEO) after truncate: %d bytes, %v", len(b), err)
	}
	if _, err := l.Read(21, 100, 1<<62); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("Read past LEO after truncate: %v", err)
	}
	more := appendN(t, l, 12, 2, 339, 0)
	if more[0].first != 20 {
		t.Fatalf("append after truncate got offset %d", more[0].first)
	}
	all := append(append([]stored(nil), batches[:10]...), more...)
	checkReads(t, l, all)
	// The truncation is durable: a crash does not bring old data back.
	crash(t, l)
	r := mustOpen(t, dir, Config{SegmentBytes: 2_000, IndexIntervalBytes: 500})
	if r.LogEndOffset() != 44 {
		t.Fatalf("after crash LEO %d", r.LogEndOffset())
	}
	checkReads(t, r, all)

	if err := r.TruncateFullyAndStartAt(1000); err != nil {
		t.Fatal(err)
	}
	if r.LogStartOffset() != 1000 || r.LogEndOffset() != 1000 || r.NumSegments() != 1 {
		t.Fatalf("TruncateFullyAndStartAt: start %d end %d segments %d", r.LogStartOffset(), r.LogEndOffset(), r.NumSegments())
	}
	if info, err := r.Append(makeBatch(0, 1, 10, tsBase), 0); err != nil || info.FirstOffset != 1000 {
		t.Fatalf("append after restart: %+v %v", info, err)
	}
}

func TestLogTruncateBelowStart(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{SegmentBytes: 2_000})
	appendN(t, l, 20, 2, 339, 0)
	l.SetHighWatermark(l.LogEndOffset())
	if _, err := l.DeleteRecordsBefore(20); err != nil {
		t.Fatal(err)
	}
	if err := l.TruncateTo(10); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("TruncateTo below start: %v", err)
	}
	if err := l.TruncateTo(20); err != nil || l.LogEndOffset() != 20 {
		t.Fatalf("TruncateTo(start): %v, LEO %d", err, l.LogEndOffset())
	}
}
