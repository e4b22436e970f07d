package commitlog

import (
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
)

// awaitDone waits for an AwaitDurable callback; the timeout only guards
// against a hang, it asserts nothing about speed.
func awaitDone(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("AwaitDurable callback never came")
		return nil
	}
}

func TestLogFlushAlways(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{FlushPolicy: FlushAlways})
	for i := 0; i < 5; i++ {
		info, err := l.Append(makeBatch(0, 3, 100, tsBase), 0)
		if err != nil {
			t.Fatal(err)
		}
		if rp := l.RecoveryPoint(); rp <= info.LastOffset {
			t.Fatalf("recovery point %d after append of %d", rp, info.LastOffset)
		}
	}
	done := make(chan error, 1)
	l.AwaitDurable(14, func(err error) { done <- err })
	if err := awaitDone(t, done); err != nil {
		t.Fatal(err)
	}
}

func TestLogFlushNever(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{})
	info, err := l.Append(makeBatch(0, 3, 100, tsBase), 0)
	if err != nil {
		t.Fatal(err)
	}
	if l.RecoveryPoint() != 0 {
		t.Fatalf("FlushNever advanced the recovery point to %d", l.RecoveryPoint())
	}
	done := make(chan error, 1)
	l.AwaitDurable(info.LastOffset, func(err error) { done <- err })
	select {
	case <-done:
		t.Fatal("AwaitDurable completed before any fsync")
	default:
	}
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := awaitDone(t, done); err != nil || l.RecoveryPoint() != 3 {
		t.Fatalf("after Flush: %v, recovery point %d", err, l.RecoveryPoint())
	}
	// A waiter still pending at Close gets ErrClosed... unless Close's
	// flush covers it, which it does.
	info, _ = l.Append(makeBatch(0, 1, 10, tsBase), 0)
	l.AwaitDurable(info.LastOffset, func(err error) { done <- err })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := awaitDone(t, done); err != nil {
		t.Fatalf("waiter at Close: %v", err)
	}
	l.AwaitDurable(100, func(err error) { done <- err })
	if err := awaitDone(t, done); !errors.Is(err, ErrClosed) {
		t.Fatalf("AwaitDurable after Close: %v", err)
	}
}

func TestLogFlushIntervalGroupCommit(t *testing.T) {
	f := NewFlusher(time.Millisecond)
	defer f.Close()
	var logs []*Log
	for i := 0; i < 10; i++ { // more logs than concurrent syncs
		logs = append(logs, mustOpen(t, t.TempDir(), Config{FlushPolicy: FlushInterval}, WithFlusher(f)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for _, l := range logs {
		for w := 0; w < 2; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10; i++ {
					info, err := l.Append(makeBatch(0, 2, 200, tsBase), 0)
					if err != nil {
						errs <- err
						return
					}
					done := make(chan error, 1)
					l.AwaitDurable(info.LastOffset, func(err error) { done <- err })
					// Not awaitDone: it fails the test, which only the
					// test's goroutine may do.
					select {
					case err := <-done:
						if err != nil {
							errs <- err
							return
						}
					case <-time.After(10 * time.Second):
						errs <- errors.New("AwaitDurable callback never came")
						return
					}
					if rp := l.RecoveryPoint(); rp <= info.LastOffset {
						errs <- errors.New("durable callback before the recovery point passed the offset")
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, l := range logs {
		if l.RecoveryPoint() != 40 {
			t.Fatalf("recovery point %d, want 40", l.RecoveryPoint())
		}
	}
}

func TestLogFlushIntervalOwnFlusher(t *testing.T) {
	l, err := Open(t.TempDir(), Config{FlushPolicy: FlushInterval, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	info, err := l.Append(makeBatch(0, 2, 200, tsBase), 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	l.AwaitDurable(info.LastOffset, func(err error) { done <- err })
	if err := awaitDone(t, done); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLogConcurrentAppendRead(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{SegmentBytes: 20_000, FlushPolicy: FlushAlways})
	const writers, perWriter = 3, 60
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var readErr error
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			end := l.LogEndOffset()
			for off := l.LogStartOffset(); off < end; {
				b, err := l.Read(off, 4096, 1<<62)
				if err != nil || len(b) == 0 {
					readErr = errors.Join(err, errors.New("empty read below LEO"))
					return
				}
				for len(b) > 0 {
					h, _, rest, err := batch.Next(b)
					if err != nil {
						readErr = err
						return
					}
					off, b = h.NextOffset(), rest
				}
			}
		}
	}()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				if _, err := l.Append(makeBatch(0, 2, 300, tsBase), 0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	if readErr != nil {
		t.Fatal(readErr)
	}
	if l.LogEndOffset() != writers*perWriter*2 {
		t.Fatalf("LEO %d", l.LogEndOffset())
	}
	if hs := readAll(t, l, 0, 1<<20); len(hs) != writers*perWriter {
		t.Fatalf("%d batches", len(hs))
	}
}

func TestLogDelete(t *testing.T) {
	dir := t.TempDir() + "/topic-0"
	l, err := Open(dir, Config{})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 3, 1, 10, 0)
	if err := l.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("directory left after Delete: %v", err)
	}
}

// TestLogAwaitDurableCallbackReenters checks that done runs without the
// log's locks: it may append and flush, on its own log or another.
func TestLogAwaitDurableCallbackReenters(t *testing.T) {
	l := mustOpen(t, t.TempDir(), Config{FlushPolicy: FlushAlways})
	k := mustOpen(t, t.TempDir(), Config{})
	info, err := k.Append(makeBatch(0, 1, 10, tsBase), 0)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	k.AwaitDurable(info.LastOffset, func(err error) {
		if err == nil {
			_, err = k.Append(makeBatch(0, 1, 10, tsBase), 0)
		}
		if err == nil {
			err = k.Flush() // the Flush that runs this callback is over
		}
		if err == nil {
			_, err = l.Append(makeBatch(0, 1, 10, tsBase), 0)
		}
		if err == nil {
			err = l.Flush()
		}
		done <- err
	})
	if err := k.Flush(); err != nil { // completes the waiter
		t.Fatal(err)
	}
	if err := awaitDone(t, done); err != nil {
		t.Fatal(err)
	}
	// And from Close, re-entering the closing log fails cleanly.
	k.AwaitDurable(k.LogEndOffset(), func(error) {
		_, err := k.Append(makeBatch(0, 1, 10, tsBase), 0)
		done <- err
	})
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if err := awaitDone(t, done); !errors.Is(err, ErrClosed) {
		t.Fatalf("append from a callback during Close: %v", err)
	}
}
