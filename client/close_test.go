package client

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// requestWaiters counts the client's goroutines blocked waiting for a
// request's answer (one that has just finished may still be on its way
// out, and is not counted).
func requestWaiters() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "client.(*Client).request.func") && strings.Contains(g, "(*future).Result") {
			n++
		}
	}
	return n
}

// TestCloseEndsRequestsInFlight: Close, with a long-poll fetch parked at
// the broker, ends it with ErrClosed and leaves no waiting goroutine
// behind; later requests fail with ErrClosed, and a second Close,
// concurrent with the first, is harmless.
func TestCloseEndsRequestsInFlight(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	cs := newTestConsumer(t, c, ConsumerConfig{FetchMaxWait: time.Minute})
	tp := TopicPartition{"t", 0}
	cs.Assign(tp)
	if pos, err := cs.Position(testCtx(t), tp); err != nil || pos != 0 {
		t.Fatalf("Position = %d, %v", pos, err)
	}
	polled := make(chan error, 1)
	go func() {
		_, err := cs.Poll(context.Background())
		polled <- err
	}()
	fb.awaitParked(t, "t", 0, 1)
	if n := requestWaiters(); n != 1 {
		t.Fatalf("%d request waiters with one fetch parked, want 1", n)
	}

	var closers sync.WaitGroup
	ctx := testCtx(t)
	for range 2 {
		closers.Go(func() {
			if err := c.Close(ctx); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	closers.Wait()
	if n := requestWaiters(); n != 0 {
		t.Fatalf("%d request waiters after Close, want 0", n)
	}
	if err := <-polled; !errors.Is(err, ErrClosed) {
		t.Fatalf("Poll across Close: %v, want ErrClosed", err)
	}
	if _, err := c.Metadata(testCtx(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Metadata after Close: %v, want ErrClosed", err)
	}
	if err := c.Close(testCtx(t)); err != nil {
		t.Fatalf("Close again: %v", err)
	}
}
