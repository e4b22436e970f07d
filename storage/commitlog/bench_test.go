package commitlog

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const benchBatchBytes = 64 << 10

// benchBatch is one 64 KiB batch of records of recordBytes each (the
// records section is filler: storage never decodes it).
func benchBatch(recordBytes int) []byte {
	count := benchBatchBytes / recordBytes
	return makeBatch(0, count, benchBatchBytes-61, time.Now().UnixMilli())
}

// benchRollBytes is how much the write benchmarks write before starting
// over on a fresh file: it keeps the data in the page cache, so they
// compare the write paths rather than the disk's writeback speed, and
// keeps disk use bounded.
const benchRollBytes = 256 << 20

func benchmarkAppend(b *testing.B, recordBytes int) {
	open := func() *Log {
		l, err := Open(b.TempDir(), Config{})
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	l := open()
	defer discard(b, l)
	buf := benchBatch(recordBytes)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	written := 0
	for b.Loop() {
		if written >= benchRollBytes {
			b.StopTimer()
			discard(b, l)
			l, written = open(), 0
			b.StartTimer()
		}
		if _, err := l.Append(buf, 0); err != nil {
			b.Fatal(err)
		}
		written += len(buf)
	}
}

// discard closes l without the fsync of Close and removes its files, as the
// raw benchmark does with its file: both drop their dirty pages unwritten.
func discard(b *testing.B, l *Log) {
	l.flushMu.Lock()
	l.mu.Lock()
	for _, s := range l.segments {
		_ = s.Close()
	}
	l.closed = true
	l.mu.Unlock()
	l.flushMu.Unlock()
	if err := os.RemoveAll(l.dir); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAppend1KiBRecords64KiBBatch: leader appends of 64 KiB batches
// of 1 KiB records, FlushNever.
func BenchmarkAppend1KiBRecords64KiBBatch(b *testing.B) { benchmarkAppend(b, 1024) }

// BenchmarkAppend100BRecords64KiBBatch: the same with 100-byte records.
func BenchmarkAppend100BRecords64KiBBatch(b *testing.B) { benchmarkAppend(b, 100) }

// BenchmarkRawFileWrite64KiB is the baseline for the append benchmarks: the
// same 64 KiB buffers written sequentially to a plain file, replaced by a
// fresh file at the same size (outside the timing).
func BenchmarkRawFileWrite64KiB(b *testing.B) {
	dir := b.TempDir()
	create := func() *os.File {
		f, err := os.Create(filepath.Join(dir, "raw"))
		if err != nil {
			b.Fatal(err)
		}
		return f
	}
	f := create()
	defer func() { _ = f.Close() }()
	buf := benchBatch(1024)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	written := 0
	for b.Loop() {
		if written >= benchRollBytes {
			b.StopTimer()
			if err := errors.Join(f.Close(), os.Remove(f.Name())); err != nil {
				b.Fatal(err)
			}
			f, written = create(), 0
			b.StartTimer()
		}
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		written += len(buf)
	}
}

// BenchmarkRead1MiB reads a 256 MiB log sequentially (page cache warm) in
// Read calls of up to 1 MiB, starting over at the end.
func BenchmarkRead1MiB(b *testing.B) { benchmarkRead(b, false) }

// BenchmarkReadAppend1MiB is BenchmarkRead1MiB reusing one buffer.
func BenchmarkReadAppend1MiB(b *testing.B) { benchmarkRead(b, true) }

func benchmarkRead(b *testing.B, reuse bool) {
	l, err := Open(b.TempDir(), Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	buf := benchBatch(1024)
	for i := 0; i < (256<<20)/len(buf); i++ {
		if _, err := l.Append(buf, 0); err != nil {
			b.Fatal(err)
		}
	}
	end := l.LogEndOffset()
	var total int64
	var dst []byte
	off := int64(0)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if off >= end {
			off = 0
		}
		var data []byte
		if reuse {
			dst, err = l.ReadAppend(dst[:0], off, 1<<20, end)
			data = dst
		} else {
			data, err = l.Read(off, 1<<20, end)
		}
		if err != nil {
			b.Fatal(err)
		}
		total += int64(len(data))
		off += int64(len(data) / len(buf) * (benchBatchBytes / 1024))
	}
	b.StopTimer()
	b.SetBytes(total / int64(b.N))
}
