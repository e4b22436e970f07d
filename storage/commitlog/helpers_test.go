package commitlog

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
)

// makeBatch builds a raw v2 batch of count records whose records section
// is filler bytes (the log never decodes records). The base offset is
// whatever the caller passes; the leader path overwrites it.
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
		b[i] = byte(i * 7)
	}
	binary.BigEndian.PutUint32(b[17:], batch.Checksum(b))
	return b
}

// tsBase is the timestamp tests count from: real time, so that segments
// do not roll by age on every append.
var tsBase = time.Now().UnixMilli()

// stored is one appended batch as the log holds it.
type stored struct {
	first, last int64
	maxTs       int64
	bytes       []byte // patched copy, as on disk
}

// appendN appends n batches (count records of payload bytes each, max
// timestamp tsBase + ts0 + i) at leader epoch 0 and returns them.
func appendN(t *testing.T, l *Log, n, count, payload int, ts0 int64) []stored {
	t.Helper()
	var out []stored
	for i := 0; i < n; i++ {
		b := makeBatch(0, count, payload, tsBase+ts0+int64(i))
		info, err := l.Append(b, 0)
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		if info.LastOffset-info.FirstOffset != int64(count-1) {
			t.Fatalf("Append %d: info %+v", i, info)
		}
		out = append(out, stored{first: info.FirstOffset, last: info.LastOffset, maxTs: tsBase + ts0 + int64(i), bytes: b})
	}
	return out
}

func mustOpen(t *testing.T, dir string, cfg Config, opts ...Option) *Log {
	t.Helper()
	l, err := Open(dir, cfg, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// checkReads asserts that every offset of every batch reads back that
// batch first.
func checkReads(t *testing.T, l *Log, batches []stored) {
	t.Helper()
	for _, s := range batches {
		for _, off := range []int64{s.first, (s.first + s.last) / 2, s.last} {
			got, err := l.Read(off, 1, 1<<62)
			if err != nil {
				t.Fatalf("Read(%d): %v", off, err)
			}
			if string(got) != string(s.bytes) {
				h, _ := batch.ParseHeader(got)
				t.Fatalf("Read(%d) = batch %d (%d bytes), want batch %d (%d bytes)", off, h.BaseOffset, len(got), s.first, len(s.bytes))
			}
		}
	}
}

// readAll reads the whole log from offset with Read and returns the
// headers of the batches read.
func readAll(t *testing.T, l *Log, from int64, maxBytes int) []batch.Header {
	t.Helper()
	var hs []batch.Header
	for off := from; off < l.LogEndOffset(); {
		b, err := l.Read(off, maxBytes, 1<<62)
		if err != nil {
			t.Fatalf("Read(%d): %v", off, err)
		}
		if len(b) == 0 {
			t.Fatalf("Read(%d) returned nothing below LEO %d", off, l.LogEndOffset())
		}
		for len(b) > 0 {
			h, _, rest, err := batch.Next(b)
			if err != nil {
				t.Fatalf("Read(%d) returned a bad batch: %v", off, err)
			}
			hs = append(hs, h)
			off = h.NextOffset()
			b = rest
		}
	}
	return hs
}

// crash abandons l as a killed process would: files are closed without a
// flush, checkpoint or clean-shutdown marker.
func crash(t *testing.T, l *Log) {
	t.Helper()
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.segments {
		_ = s.Close()
	}
	l.closed = true
	if l.ownFlusher {
		l.opts.flusher.Close()
	}
}
