package commitlog

import (
	"testing"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
)

func TestLogRollBySize(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{SegmentBytes: 10_000})
	batches := appendN(t, l, 30, 2, 939, 0) // 1000-byte batches
	segs := l.Segments()
	if len(segs) != 3 {
		t.Fatalf("%d segments, want 3 of ten 1000-byte batches", len(segs))
	}
	for i, s := range segs {
		if s.Size > 10_000 {
			t.Fatalf("segment %d has %d bytes", i, s.Size)
		}
		if i > 0 && s.BaseOffset != segs[i-1].NextOffset {
			t.Fatalf("segment %d starts at %d, previous ends at %d", i, s.BaseOffset, segs[i-1].NextOffset)
		}
		if s.Active != (i == len(segs)-1) {
			t.Fatalf("segment %d Active = %v", i, s.Active)
		}
	}
	checkReads(t, l, batches)
	// A batch larger than SegmentBytes still goes in, alone.
	appendN(t, l, 1, 1, 20_000, 0)
	if l.NumSegments() != 4 {
		t.Fatalf("oversized batch: %d segments", l.NumSegments())
	}
	if err := l.Roll(); err != nil || l.NumSegments() != 5 {
		t.Fatalf("Roll: %v, %d segments", err, l.NumSegments())
	}
	if err := l.Roll(); err != nil || l.NumSegments() != 5 {
		t.Fatalf("Roll of an empty segment: %v, %d segments", err, l.NumSegments())
	}
}

func TestLogRollByAge(t *testing.T) {
	now := time.UnixMilli(tsBase)
	clock := func() time.Time { return now }
	l := mustOpen(t, t.TempDir(), Config{SegmentAge: time.Hour}, WithClock(clock))
	appendN(t, l, 3, 1, 10, 0)
	if rolled, err := l.MaybeRoll(now.Add(59 * time.Minute)); err != nil || rolled {
		t.Fatalf("MaybeRoll before an hour: %v, %v", rolled, err)
	}
	if rolled, err := l.MaybeRoll(now.Add(61 * time.Minute)); err != nil || !rolled || l.NumSegments() != 2 {
		t.Fatalf("MaybeRoll after an hour: %v, %v, %d segments", rolled, err, l.NumSegments())
	}
	// An empty active segment never rolls.
	if rolled, _ := l.MaybeRoll(now.Add(100 * time.Hour)); rolled {
		t.Fatal("empty segment rolled")
	}
	// Appends roll by age too: the active segment's first batch is older
	// than SegmentAge at append time.
	appendN(t, l, 1, 1, 10, 0)
	now = now.Add(2 * time.Hour)
	appendN(t, l, 1, 1, 10, 2*time.Hour.Milliseconds())
	if l.NumSegments() != 3 {
		t.Fatalf("append after SegmentAge: %d segments, want 3", l.NumSegments())
	}
}

func TestLogReadAtSegmentBoundaries(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{SegmentBytes: 4_000, IndexIntervalBytes: 500})
	batches := appendN(t, l, 60, 3, 339, 0) // 400-byte batches, 10 per segment
	segs := l.Segments()
	if len(segs) != 6 {
		t.Fatalf("%d segments", len(segs))
	}
	for _, s := range segs[1:] {
		for _, off := range []int64{s.BaseOffset - 1, s.BaseOffset, s.BaseOffset + 1} {
			b, err := l.Read(off, 1, 1<<62)
			if err != nil || len(b) == 0 {
				t.Fatalf("Read(%d): %d bytes, %v", off, len(b), err)
			}
			hs := headers(t, b)
			if hs[0].BaseOffset > off || hs[0].LastOffset() < off {
				t.Fatalf("Read(%d) returned batch %d-%d", off, hs[0].BaseOffset, hs[0].LastOffset())
			}
		}
	}
	// A large read stops at the end of the segment.
	b, err := l.Read(segs[1].BaseOffset, 1<<20, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	hs := headers(t, b)
	if len(hs) != 10 || hs[9].NextOffset() != segs[2].BaseOffset {
		t.Fatalf("read of segment 1 returned %d batches", len(hs))
	}
	if got := readAll(t, l, 0, 1<<20); len(got) != len(batches) {
		t.Fatalf("readAll: %d batches, want %d", len(got), len(batches))
	}
}

func TestLogOffsetForTimestamp(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{SegmentBytes: 4_000, IndexIntervalBytes: 300})
	var batches []stored
	for i := 0; i < 50; i++ {
		batches = append(batches, appendN(t, l, 1, 2, 339, int64(i)*100)...) // max ts tsBase+100i
	}
	cases := []struct {
		ts   int64
		want int // batch index, -1 none
	}{
		{0, 0}, {tsBase, 0}, {tsBase + 1, 1}, {tsBase + 100, 1}, {tsBase + 2_450, 25}, {tsBase + 4_900, 49}, {tsBase + 4_901, -1},
	}
	for _, c := range cases {
		off, ts, err := l.OffsetForTimestamp(c.ts)
		if err != nil {
			t.Fatal(err)
		}
		if c.want < 0 {
			if off != -1 {
				t.Fatalf("OffsetForTimestamp(%d) = %d", c.ts, off)
			}
			continue
		}
		if off != batches[c.want].first || ts != batches[c.want].maxTs {
			t.Fatalf("OffsetForTimestamp(%d) = %d, %d; want %d, %d", c.ts, off, ts, batches[c.want].first, batches[c.want].maxTs)
		}
	}
}

func TestLogOffsetForTimestampRecords(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{})
	appendN(t, l, 2, 5, 100, 0) // offsets 0-9, batch max timestamps tsBase, tsBase+1
	var records []batch.Record
	for i := 0; i < 10; i++ {
		records = append(records, batch.Record{Timestamp: tsBase + 100 + int64(i)*10, Value: []byte("v")})
	}
	b, err := batch.Encode(records, batch.DefaultEncodeOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(b, 0); err != nil { // offsets 10-19
		t.Fatal(err)
	}
	cases := []struct{ ts, wantOffset, wantTs int64 }{
		{tsBase + 2, 10, tsBase + 100},
		{tsBase + 100, 10, tsBase + 100},
		{tsBase + 101, 11, tsBase + 110},
		{tsBase + 155, 16, tsBase + 160},
		{tsBase + 190, 19, tsBase + 190},
		{tsBase + 191, -1, -1},
	}
	for _, c := range cases {
		off, ts, err := l.OffsetForTimestamp(c.ts)
		if err != nil || off != c.wantOffset || ts != c.wantTs {
			t.Fatalf("OffsetForTimestamp(%d) = %d, %d, %v; want %d, %d", c.ts, off, ts, err, c.wantOffset, c.wantTs)
		}
	}
}
