package storagebench

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
)

// Log is what the suite needs from a partition log.
type Log interface {
	// Append appends one or more batches and returns the offset of the
	// last record; it may patch the batches in place.
	Append(batches []byte) (lastOffset int64, err error)
	// AwaitDurable calls done once every record up to offset is durable.
	AwaitDurable(offset int64, done func(error))
	// ReadAppend appends whole batches starting at offset (at most
	// maxBytes, at least one batch) to dst.
	ReadAppend(dst []byte, offset int64, maxBytes int) ([]byte, error)
	// LogEndOffset is the offset the next record gets.
	LogEndOffset() int64
	// Close closes the log; Destroy removes it.
	Close() error
	Destroy() error
}

// Opener opens a fresh, empty log for one benchmark run.
type Opener func(b *testing.B) Log

// Workload describes the batches appended.
type Workload struct {
	RecordBytes int // value bytes per record
	BatchBytes  int // approximate batch size
	// Durable makes every append wait for AwaitDurable before the next
	// one (acks after fsync).
	Durable bool
	// Appenders is the number of concurrent appending goroutines; 0 means 1.
	Appenders int
}

// rollBytes bounds what one log receives before the suite starts over on
// a fresh one, so runs measure the write path and not the disk's
// writeback speed, and disk use stays bounded.
const rollBytes = 256 << 20

// Batch encodes one uncompressed batch of w.BatchBytes/w.RecordBytes
// records with w.RecordBytes-byte values and returns it with its record
// count.
func Batch(b *testing.B, w Workload) ([]byte, int) {
	n := max(w.BatchBytes/(w.RecordBytes+10), 1)
	value := bytes.Repeat([]byte{'x'}, w.RecordBytes)
	records := make([]batch.Record, n)
	now := time.Now().UnixMilli()
	for i := range records {
		records[i] = batch.Record{Timestamp: now, Value: value}
	}
	buf, err := batch.Encode(records, batch.DefaultEncodeOptions())
	if err != nil {
		b.Fatal(err)
	}
	return buf, n
}

// Append measures append throughput for w.
func Append(b *testing.B, open Opener, w Workload) {
	proto, records := Batch(b, w)
	appenders := max(w.Appenders, 1)
	l := open(b)
	defer func() { _ = l.Destroy() }()
	b.SetBytes(int64(len(proto)))
	b.ReportAllocs()
	var mu sync.Mutex // guards l and written across appenders
	written := 0
	start := time.Now()
	b.ResetTimer()
	var wg sync.WaitGroup
	work := make(chan struct{})
	errs := make(chan error, appenders)
	for range appenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := append([]byte(nil), proto...)
			done := make(chan error, 1)
			for range work {
				mu.Lock()
				cur := l
				mu.Unlock()
				last, err := cur.Append(buf)
				if err == nil && w.Durable {
					cur.AwaitDurable(last, func(err error) { done <- err })
					err = <-done
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < b.N; i++ {
		mu.Lock()
		if written >= rollBytes && appenders == 1 {
			b.StopTimer()
			old := l
			l = open(b)
			written = 0
			mu.Unlock()
			if err := old.Destroy(); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		} else {
			mu.Unlock()
		}
		select {
		case work <- struct{}{}:
		case err := <-errs:
			b.Fatal(err)
		}
		mu.Lock()
		written += len(proto)
		mu.Unlock()
	}
	close(work)
	wg.Wait()
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.ReportMetric(float64(b.N*records)/time.Since(start).Seconds(), "records/s")
}

// Read measures sequential read throughput of a log holding size bytes of
// w's batches, read in calls of maxBytes with a reused buffer.
func Read(b *testing.B, open Opener, w Workload, size, maxBytes int) {
	proto, _ := Batch(b, w)
	l := open(b)
	defer func() { _ = l.Destroy() }()
	buf := append([]byte(nil), proto...)
	for written := 0; written < size; written += len(buf) {
		if _, err := l.Append(buf); err != nil {
			b.Fatal(err)
		}
	}
	end := l.LogEndOffset()
	var dst []byte
	var total int64
	off := int64(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if off >= end {
			off = 0
		}
		var err error
		dst, err = l.ReadAppend(dst[:0], off, maxBytes)
		if err != nil {
			b.Fatal(err)
		}
		total += int64(len(dst))
		off = nextOffset(b, dst)
	}
	b.StopTimer()
	b.SetBytes(total / int64(max(b.N, 1)))
}

// nextOffset returns the offset after the last batch in buf.
func nextOffset(b *testing.B, buf []byte) int64 {
	var next int64
	for len(buf) > 0 {
		h, err := batch.ParseHeader(buf)
		if err != nil {
			b.Fatal(err)
		}
		next = h.NextOffset()
		buf = buf[h.Size():]
	}
	return next
}
