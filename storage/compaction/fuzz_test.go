package compaction

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
)

// FuzzCompact feeds an arbitrary segment to Compact. Invariants: no panic;
// failure is ErrCorruptInput; on success every cleaned batch is valid and
// decodable, holds only offsets of the input in increasing order, and
// compacting the output again gives the same bytes.
func FuzzCompact(f *testing.F) {
	gzip := batch.DefaultEncodeOptions()
	gzip.Codec = batch.CodecGzip
	f.Add(concat(
		plainBatch(f, 0, kv("a", "1", 1), kv("b", "1", 2), kv("a", "2", 3)),
		encodeBatch(f, 3, gzip, tombstone("b", 4), unkeyed("u", 5), kv("c", "1", 6)),
		controlBatch(f, 6),
	))
	f.Add(plainBatch(f, 100, kv("k", "v", 1)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, segment []byte) {
		opts := Options{Now: time.UnixMilli(10), DeleteRetention: 5 * time.Millisecond}
		w := newBufferWriter(1)
		if _, err := Compact([]Input{BytesInput("fuzz", segment)}, w, opts); err != nil {
			if !errors.Is(err, ErrCorruptInput) {
				t.Fatalf("Compact = %v, want ErrCorruptInput", err)
			}
			return
		}
		once := w.segments[0].Bytes()
		last := int64(-1)
		for rest := once; len(rest) > 0; {
			h, b, next, err := batch.Next(rest)
			if err != nil {
				t.Fatalf("cleaned batch: %v", err)
			}
			if h.BaseOffset <= last {
				t.Fatalf("cleaned batch at %d after offset %d", h.BaseOffset, last)
			}
			if _, _, err := batch.Decode(b); err != nil {
				t.Fatalf("Decode cleaned batch: %v", err)
			}
			last = h.LastOffset()
			rest = next
		}
		w2 := newBufferWriter(1)
		if _, err := Compact(w.inputs(), w2, opts); err != nil {
			t.Fatalf("second Compact: %v", err)
		}
		if !bytes.Equal(once, w2.segments[0].Bytes()) {
			t.Fatal("second compaction changed the output")
		}
	})
}
