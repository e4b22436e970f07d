package client

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestProduceAsyncContextEndsBufferWait: a ProduceAsync blocked on a full
// buffer returns when its context ends, failing only its own record; the
// buffered record is still delivered.
func TestProduceAsyncContextEndsBufferWait(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	fb.mu.Lock()
	fb.holdProduce = 300 * time.Millisecond // keeps the first record buffered
	fb.mu.Unlock()
	p := newTestProducer(t, c, ProducerConfig{MaxBufferedBytes: 200, Linger: -1})
	first := make(chan error, 1)
	p.ProduceAsync(context.Background(), &Record{Topic: "t", Value: make([]byte, 150)}, func(_ RecordMetadata, err error) { first <- err })
	ctx, cancel := context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() {
		p.ProduceAsync(ctx, &Record{Topic: "t", Value: make([]byte, 150)}, func(_ RecordMetadata, err error) { second <- err })
	}()
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("record waiting for buffer space: %v, want context.Canceled", err)
	}
	if err := <-first; err != nil {
		t.Fatalf("buffered record: %v", err)
	}
	if n := len(fb.records("t", 0)); n != 1 {
		t.Fatalf("%d records stored, want 1", n)
	}
}
