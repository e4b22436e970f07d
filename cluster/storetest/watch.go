package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster"
)

// watchUntil calls Watch repeatedly (tolerating early returns with nothing
// new) until cond holds for the listing. It is safe to call from any
// goroutine.
func watchUntil(ctx context.Context, st cluster.Store, prefix string, index uint64, cond func([]cluster.KV) bool) ([]cluster.KV, uint64, error) {
	for {
		kvs, next, err := st.Watch(ctx, prefix, index)
		if err != nil {
			return nil, 0, fmt.Errorf("Watch(%q, %d): %w", prefix, index, err)
		}
		if cond(kvs) {
			return kvs, next, nil
		}
		index = next
	}
}

type watchResult struct {
	kvs   []cluster.KV
	index uint64
	err   error
}

// watchAsync runs watchUntil in a goroutine the test waits for.
func watchAsync(t *testing.T, st cluster.Store, prefix string, index uint64, cond func([]cluster.KV) bool) <-chan watchResult {
	ctx := ctxT(t)
	done := make(chan watchResult, 1)
	go func() {
		kvs, next, err := watchUntil(ctx, st, prefix, index, cond)
		done <- watchResult{kvs, next, err}
	}()
	return done
}

func testWatchReturnsPendingChange(t *testing.T, open Factory) {
	st := open(t)
	mustCAS(t, st, "w/a", "1", 0)
	_, index, err := st.List(ctxT(t), "w/")
	if err != nil {
		t.Fatal(err)
	}
	// A change between List and Watch must not be missed.
	mustCAS(t, st, "w/b", "2", 0)
	kvs, next, err := watchUntil(ctxT(t), st, "w/", index, func(kvs []cluster.KV) bool { return len(kvs) == 2 })
	if err != nil {
		t.Fatal(err)
	}
	if !equalKeys(kvs, "w/a", "w/b") || next <= index {
		t.Fatalf("Watch = %v index %d (from %d)", keysOf(kvs), next, index)
	}
}

func testWatchWakesOnWrite(t *testing.T, open Factory) {
	st := open(t)
	v := mustCAS(t, st, "w/a", "1", 0)
	_, index, err := st.List(ctxT(t), "w/")
	if err != nil {
		t.Fatal(err)
	}
	done := watchAsync(t, st, "w/", index, func(kvs []cluster.KV) bool {
		return len(kvs) == 1 && string(kvs[0].Value) == "2"
	})
	mustCAS(t, st, "other/x", "ignored", 0)
	mustCAS(t, st, "w/a", "2", v)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.kvs[0].Key != "w/a" || r.kvs[0].Version <= v {
		t.Fatalf("Watch woke with %+v", r.kvs)
	}
}

func testWatchWakesOnDelete(t *testing.T, open Factory) {
	st := open(t)
	mustCAS(t, st, "w/a", "1", 0)
	mustCAS(t, st, "w/b", "1", 0)
	_, index, err := st.List(ctxT(t), "w/")
	if err != nil {
		t.Fatal(err)
	}
	done := watchAsync(t, st, "w/", index, func(kvs []cluster.KV) bool { return len(kvs) == 1 })
	if err := st.Delete(ctxT(t), "w/a", 0); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !equalKeys(r.kvs, "w/b") {
		t.Fatalf("Watch after delete = %v", keysOf(r.kvs))
	}
}

func testWatchWaitTime(t *testing.T, open Factory) {
	st := open(t)
	mustCAS(t, st, "w/a", "1", 0)
	kvs, index, err := st.List(ctxT(t), "w/")
	if err != nil {
		t.Fatal(err)
	}
	got, next, err := st.Watch(ctxT(t), "w/", index)
	if err != nil {
		t.Fatalf("Watch without changes = %v; the store's wait time must be under %v", err, WatchWaitLimit)
	}
	if !equalKeys(got, keysOf(kvs)...) || !bytes.Equal(got[0].Value, kvs[0].Value) || next < index {
		t.Fatalf("Watch after wait time = %v index %d, want unchanged %v index >= %d", keysOf(got), next, keysOf(kvs), index)
	}
}

func testWatchContextCancel(t *testing.T, open Factory) {
	st := open(t)
	mustCAS(t, st, "w/a", "1", 0)
	_, index, err := st.List(ctxT(t), "w/")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := st.Watch(ctx, "w/", index)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Watch after cancel = %v, want context.Canceled", err)
		}
	case <-time.After(WatchWaitLimit):
		t.Fatal("Watch did not return after its context was cancelled")
	}
}
