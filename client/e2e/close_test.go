package e2e

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
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

// TestClientCloseWithRequestsInFlight closes clients while long-poll
// fetches are parked at the broker and produce and metadata requests are
// on the wire (under -race this is where answers arriving during Close
// used to race with it). Close returns, also when called twice at once;
// no request waits after it, later requests fail with ErrClosed, and the
// client's goroutines end.
func TestClientCloseWithRequestsInFlight(t *testing.T) {
	c := clustertest.Start(t, 1)
	setup := newClient(t, c)
	createTopic(t, setup, "closing", 2, nil)
	if err := setup.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		baseline := runtime.NumGoroutine()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cl, err := client.New(ctx, client.Config{Seeds: []string{c.Addr(0)}, RequestTimeout: 5 * time.Second,
			RetryBackoff: 20 * time.Millisecond})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		cs, err := client.NewConsumer(cl, client.ConsumerConfig{FetchMaxWait: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		cs.Assign(client.TopicPartition{Topic: "closing", Partition: 0}, client.TopicPartition{Topic: "closing", Partition: 1})
		p, err := client.NewProducer(cl, client.ProducerConfig{Acks: client.AcksLeader})
		if err != nil {
			t.Fatal(err)
		}
		var acked, polled atomic.Int64
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				if recs, err := cs.Poll(ctx); err == nil {
					polled.Add(int64(len(recs)))
				}
				cancel()
			}
		})
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				p.ProduceAsync(context.Background(), client.NewRecord("closing", nil, []byte("v")), func(_ client.RecordMetadata, err error) {
					if err == nil {
						acked.Add(1)
					}
				})
				_, _ = cl.Metadata(context.Background())
			}
		})
		// Each round closes a little further into the traffic.
		waitProgress(t, func() error {
			if a, n := acked.Load(), polled.Load(); a <= int64(round*50) || n == 0 {
				return fmt.Errorf("%d records acknowledged, %d polled", a, n)
			}
			return nil
		})
		var closers sync.WaitGroup
		closeCtx := testCtx(t)
		for range 2 {
			closers.Go(func() {
				if err := cl.Close(closeCtx); err != nil {
					t.Errorf("round %d: Close: %v", round, err)
				}
			})
		}
		closers.Wait()
		if n := requestWaiters(); n != 0 {
			t.Fatalf("round %d: %d requests still waiting after Close", round, n)
		}
		if _, err := cl.Metadata(testCtx(t)); !errors.Is(err, client.ErrClosed) {
			t.Fatalf("round %d: Metadata after Close: %v, want ErrClosed", round, err)
		}
		if err := cl.Close(testCtx(t)); err != nil {
			t.Fatalf("round %d: Close again: %v", round, err)
		}
		close(stop)
		wg.Wait()
		_ = cs.Close(testCtx(t))
		_ = p.Close(testCtx(t))
		waitProgress(t, func() error {
			if n := runtime.NumGoroutine(); n > baseline {
				return fmt.Errorf("round %d: %d goroutines after Close, %d before the client", round, n, baseline)
			}
			return nil
		})
	}
}

// waitProgress polls cond until it returns nil, for up to 30 s.
func waitProgress(t *testing.T, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
