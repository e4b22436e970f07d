package segment

import (
	"encoding/binary"
	"testing"

	"github.com/sluice-mq/sluice/storage/batch"
)

// makeBatch builds a raw v2 batch of count records whose records section
// is payload filler bytes (storage never decodes records).
func makeBatch(base int64, count, payload int, maxTs int64) []byte {
	b := make([]byte, batch.HeaderSize+payload)
	binary.BigEndian.PutUint64(b[0:], uint64(base))
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-batch.LogOverhead))
	b[16] = batch.Magic
	binary.BigEndian.PutUint32(b[23:], uint32(count-1))
	binary.BigEndian.PutUint64(b[27:], uint64(maxTs))
	binary.BigEndian.PutUint64(b[35:], uint64(maxTs))
	binary.BigEndian.PutUint64(b[43:], ^uint64(0))
	binary.BigEndian.PutUint16(b[51:], 0xffff)
	binary.BigEndian.PutUint32(b[53:], 0xffffffff)
	binary.BigEndian.PutUint32(b[57:], uint32(count))
	for i := batch.HeaderSize; i < len(b); i++ {
		b[i] = byte(int(base) + i)
	}
	binary.BigEndian.PutUint32(b[17:], batch.Checksum(b))
	return b
}

type written struct {
	base, last int64
	pos        int64
	maxTs      int64
	bytes      []byte
}

// fill appends n batches of varying size and record count to s, with
// timestamps rising from ts0 by 10 per batch, and returns what it wrote.
func fill(t *testing.T, s *Segment, n int, ts0 int64) []written {
	t.Helper()
	var out []written
	for i := 0; i < n; i++ {
		count := 1 + i%5
		b := makeBatch(s.NextOffset(), count, 100+(i*397)%3000, ts0+int64(i)*10)
		w := written{base: s.NextOffset(), last: s.NextOffset() + int64(count) - 1, pos: s.Size(), maxTs: ts0 + int64(i)*10, bytes: b}
		if err := s.Append(b); err != nil {
			t.Fatalf("Append batch %d: %v", i, err)
		}
		out = append(out, w)
	}
	return out
}

func mustCreate(t *testing.T, dir string, base int64, opts Options) *Segment {
	t.Helper()
	s, err := Create(dir, base, opts)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// checkLookups asserts that every offset of every batch reads back the
// batch that contains it.
func checkLookups(t *testing.T, s *Segment, ws []written) {
	t.Helper()
	for _, w := range ws {
		for off := w.base; off <= w.last; off++ {
			got, err := s.Read(off, 1, 1<<62)
			if err != nil {
				t.Fatalf("Read(%d): %v", off, err)
			}
			if string(got) != string(w.bytes) {
				h, _ := batch.ParseHeader(got)
				t.Fatalf("Read(%d) returned batch at %d (%d bytes), want batch %d (%d bytes)", off, h.BaseOffset, len(got), w.base, len(w.bytes))
			}
			pos, found, err := s.Lookup(off)
			if err != nil || !found || pos != w.pos {
				t.Fatalf("Lookup(%d) = %d, %v, %v; want %d", off, pos, found, err, w.pos)
			}
		}
	}
}

// sameIndexes asserts that two segments hold identical index entries.
func sameIndexes(t *testing.T, a, b *Segment) {
	t.Helper()
	if len(a.index.entries) != len(b.index.entries) {
		t.Fatalf("index entries %d vs %d", len(a.index.entries), len(b.index.entries))
	}
	for i := range a.index.entries {
		if a.index.entries[i] != b.index.entries[i] {
			t.Fatalf("index entry %d: %+v vs %+v", i, a.index.entries[i], b.index.entries[i])
		}
	}
	if a.NextOffset() != b.NextOffset() || a.Size() != b.Size() || a.MaxTimestamp() != b.MaxTimestamp() {
		t.Fatalf("state next %d/%d size %d/%d maxTs %d/%d", a.NextOffset(), b.NextOffset(), a.Size(), b.Size(), a.MaxTimestamp(), b.MaxTimestamp())
	}
}
