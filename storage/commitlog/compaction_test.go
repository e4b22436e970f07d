package commitlog

import (
	"fmt"
	"testing"

	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/compaction"
	"github.com/sluice-mq/sluice/storage/segment"
)

// TestLogCompactClosedSegments runs the documented compaction workflow:
// storage/compaction rewrites each closed segment into a cleaned segment
// and ReplaceSegments swaps it in; the log keeps only the latest record
// per key of the closed segments and survives a crash.
func TestLogCompactClosedSegments(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{SegmentBytes: 1_000}
	l := mustOpen(t, dir, cfg)
	for i := 0; i < 60; i++ {
		rec := batch.Record{Timestamp: tsBase, Key: []byte(fmt.Sprintf("k%d", i%7)), Value: []byte(fmt.Sprintf("v%d", i))}
		b, err := batch.Encode([]batch.Record{rec}, batch.DefaultEncodeOptions())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(b, 0); err != nil {
			t.Fatal(err)
		}
	}
	leo := l.LogEndOffset()
	segs := l.Segments()
	closed := segs[:len(segs)-1]
	if len(closed) < 3 {
		t.Fatalf("only %d closed segments", len(closed))
	}
	inputs := make([]compaction.Input, len(closed))
	cleaned := make([]*segment.Segment, len(closed))
	for i, s := range closed {
		inputs[i] = compaction.FileInput(s.Path)
		c, err := l.CreateCleanedSegment(s.BaseOffset)
		if err != nil {
			t.Fatal(err)
		}
		cleaned[i] = c
	}
	out := compaction.WriterFunc(func(i int, b []byte) error { return cleaned[i].Append(b) })
	if _, err := compaction.Compact(inputs, out, compaction.Options{}); err != nil {
		t.Fatal(err)
	}
	for i, s := range closed {
		if err := l.ReplaceSegments([]int64{s.BaseOffset}, cleaned[i]); err != nil {
			t.Fatalf("ReplaceSegments(%d): %v", s.BaseOffset, err)
		}
	}
	check := func(l *Log) {
		t.Helper()
		if l.LogEndOffset() != leo {
			t.Fatalf("LEO %d, want %d", l.LogEndOffset(), leo)
		}
		activeBase := l.Segments()[len(l.Segments())-1].BaseOffset
		seen := map[string]bool{}
		var last int64 = -1
		for off := int64(0); off < leo; {
			b, err := l.Read(off, 1<<20, 1<<62)
			if err != nil {
				t.Fatal(err)
			}
			err = batch.ForEach(b, func(r batch.Record) error {
				if r.Offset <= last {
					t.Fatalf("offset %d after %d", r.Offset, last)
				}
				last = r.Offset
				if want := fmt.Sprintf("v%d", r.Offset); string(r.Value) != want {
					t.Fatalf("offset %d has value %s", r.Offset, r.Value)
				}
				if r.Offset < activeBase {
					if seen[string(r.Key)] {
						t.Fatalf("key %s twice in the compacted segments", r.Key)
					}
					seen[string(r.Key)] = true
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			off = last + 1
		}
		if len(seen) != 7 {
			t.Fatalf("%d keys left in the compacted segments, want 7", len(seen))
		}
	}
	check(l)
	crash(t, l)
	check(mustOpen(t, dir, cfg))
}
