package commitlog

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/segment"
)

// A Range selects exactly the batches Read copies.
func TestLogReadRangeMatchesRead(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{SegmentBytes: 2_000})
	batches := appendN(t, l, 12, 2, 339, 0)
	l.SetHighWatermark(batches[9].first) // batches 9.. are not committed
	for _, c := range []struct {
		offset   int64
		maxBytes int
	}{{0, 1}, {0, 800}, {1, 1_000}, {batches[3].first, 10_000}, {batches[8].last, 10_000}, {batches[9].first, 10_000}} {
		want, err := l.Read(c.offset, c.maxBytes, l.HighWatermark())
		if err != nil {
			t.Fatal(err)
		}
		r, err := l.ReadRange(c.offset, c.maxBytes, l.HighWatermark())
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := r.Copy(&got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) || r.Size != int64(len(want)) {
			t.Fatalf("offset %d max %d: range %d bytes, read %d", c.offset, c.maxBytes, got.Len(), len(want))
		}
		if len(want) > 0 && (r.BaseOffset > c.offset || r.Records == 0) {
			t.Fatalf("offset %d: range %+v", c.offset, r)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var oor *OffsetOutOfRangeError
	if _, err := l.ReadRange(l.LogEndOffset()+1, 100, 1<<62); !errors.As(err, &oor) {
		t.Fatalf("beyond the end: %v", err)
	}
}

// Retention deleting a segment while a Range of it is held leaves the
// Range's bytes intact until it is closed.
func TestLogReadRangeSurvivesRetention(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{SegmentBytes: 2_000, RetentionAge: time.Hour})
	batches := appendN(t, l, 15, 2, 339, 0) // 3 segments of 5 batches
	l.SetHighWatermark(l.LogEndOffset())
	want, err := l.Read(0, 1_600, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	r, err := l.ReadRange(0, 1_600, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	first := l.Segments()[0].Path
	n, err := l.EnforceRetention(time.UnixMilli(tsBase).Add(100 * time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("EnforceRetention = %d, %v", n, err)
	}
	if _, err := os.Stat(first); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("deleted segment still named: %v", err)
	}
	if l.LogStartOffset() != batches[10].first {
		t.Fatalf("log start %d", l.LogStartOffset())
	}
	var got bytes.Buffer
	if _, err := r.Copy(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("range of a deleted segment: %d bytes, want %d", got.Len(), len(want))
	}
	// Shrink reads the surviving file too.
	if err := r.Shrink(900, false); err != nil || r.Size != 800 || r.NextOffset != batches[1].last+1 {
		t.Fatalf("Shrink: %v, %+v", err, r)
	}
	if err := r.Shrink(100, true); err != nil || r.Size != 400 || r.NextOffset != batches[0].last+1 || r.Records != 2 {
		t.Fatalf("Shrink to one batch: %v, %+v", err, r)
	}
	if err := r.Shrink(100, false); err != nil || r.File != nil {
		t.Fatalf("Shrink to nothing: %v, %+v", err, r)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// Truncating a Range's bytes away is reported, not sent short.
func TestLogReadRangeTruncated(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{SegmentBytes: 100_000})
	batches := appendN(t, l, 6, 2, 339, 0)
	l.SetHighWatermark(l.LogEndOffset())
	r, err := l.ReadRange(0, 10_000, 1<<62)
	if err != nil || r.Size != 2_400 {
		t.Fatalf("ReadRange: %v, %+v", err, r)
	}
	defer r.Close()
	if err := l.TruncateTo(batches[3].first); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := r.Copy(&got); !errors.Is(err, segment.ErrRangeShrunk) {
		t.Fatalf("Copy after truncation: %v (%d bytes)", err, got.Len())
	}
}

// Over segments with index entries (closed ones with their index on disk,
// the active one in memory), a Range always holds exactly Read's bytes,
// whatever the offset, size limit and offset limit.
func TestLogReadRangeIndexedMatchesRead(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{SegmentBytes: 100_000})
	for i := range 500 {
		appendN(t, l, 1, 1+i%3, 61+(i*37)%900, 0)
	}
	if l.NumSegments() < 3 {
		t.Fatalf("%d segments", l.NumSegments())
	}
	l.SetHighWatermark(l.LogEndOffset())
	leo := l.LogEndOffset()
	for i := range 400 {
		offset := int64(i*7919) % leo
		maxBytes := 1 + (i*104729)%60_000
		maxOffset := leo - int64(i%50)*int64(i%3)
		want, err := l.Read(offset, maxBytes, maxOffset)
		if err != nil {
			t.Fatal(err)
		}
		r, err := l.ReadRange(offset, maxBytes, maxOffset)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if _, err := r.Copy(&got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("offset %d max %d below %d: range %d bytes, read %d", offset, maxBytes, maxOffset, got.Len(), len(want))
		}
		if len(want) > 0 {
			_, _, end := lastOffsets(t, want)
			if r.NextOffset != end {
				t.Fatalf("offset %d: range next offset %d, want %d", offset, r.NextOffset, end)
			}
		}
		_ = r.Close()
	}
}

// lastOffsets returns the base offset of the first batch in b, the number
// of batches and the offset after the last one.
func lastOffsets(t *testing.T, b []byte) (base int64, n int, end int64) {
	t.Helper()
	for len(b) > 0 {
		h, err := batch.ParseHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			base = h.BaseOffset
		}
		n++
		end = h.NextOffset()
		b = b[h.Size():]
	}
	return base, n, end
}
