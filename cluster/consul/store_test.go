package consul_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/consul"
	"github.com/sluice-mq/sluice/cluster/consul/consultest"
	"github.com/sluice-mq/sluice/cluster/storetest"
)

func TestStoreCASAndDelete(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	s := newStore(t, testConfig(t, agent))
	ctx := context.Background()

	// A missing key.
	if _, err := s.Get(ctx, "a"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("Get missing: %v, want ErrNotFound", err)
	}
	if _, err := s.CAS(ctx, "a", []byte("x"), 7); !errors.Is(err, cluster.ErrVersionMismatch) {
		t.Fatalf("CAS missing at version 7: %v, want ErrVersionMismatch", err)
	}

	// Create, then create again.
	v1, err := s.CAS(ctx, "a", []byte("one"), 0)
	if err != nil {
		t.Fatalf("CAS create: %v", err)
	}
	if _, err := s.CAS(ctx, "a", []byte("again"), 0); !errors.Is(err, cluster.ErrVersionMismatch) {
		t.Fatalf("CAS create existing: %v, want ErrVersionMismatch", err)
	}
	kv, err := s.Get(ctx, "a")
	if err != nil || string(kv.Value) != "one" || kv.Version != v1 || kv.Key != "a" {
		t.Fatalf("Get = %+v, %v; want a=one at %d", kv, err, v1)
	}

	// Update at the current version; the old one loses.
	v2, err := s.CAS(ctx, "a", []byte("two"), v1)
	if err != nil || v2 <= v1 {
		t.Fatalf("CAS update = %d, %v; want a version above %d", v2, err, v1)
	}
	if _, err := s.CAS(ctx, "a", []byte("stale"), v1); !errors.Is(err, cluster.ErrVersionMismatch) {
		t.Fatalf("CAS stale: %v, want ErrVersionMismatch", err)
	}
	if kv, _ := s.Get(ctx, "a"); string(kv.Value) != "two" || kv.Version != v2 {
		t.Fatalf("Get after update = %+v", kv)
	}

	// Empty values round-trip as empty, not nil.
	if _, err := s.CAS(ctx, "empty", nil, 0); err != nil {
		t.Fatalf("CAS empty: %v", err)
	}
	if kv, err := s.Get(ctx, "empty"); err != nil || kv.Value == nil || len(kv.Value) != 0 {
		t.Fatalf("Get empty = %+v, %v", kv, err)
	}

	// Versioned deletes.
	if err := s.Delete(ctx, "a", v1); !errors.Is(err, cluster.ErrVersionMismatch) {
		t.Fatalf("Delete stale: %v, want ErrVersionMismatch", err)
	}
	if err := s.Delete(ctx, "a", v2); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx, "a"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("Get deleted: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "a", v2); !errors.Is(err, cluster.ErrVersionMismatch) {
		t.Fatalf("Delete missing at a version: %v, want ErrVersionMismatch", err)
	}
	if err := s.Delete(ctx, "a", 0); err != nil {
		t.Fatalf("Delete missing unconditionally: %v", err)
	}
	if err := s.Delete(ctx, "empty", 0); err != nil {
		t.Fatalf("Delete unconditionally: %v", err)
	}

	// Invalid keys.
	for _, key := range []string{"", "/abs"} {
		if _, err := s.CAS(ctx, key, nil, 0); !errors.Is(err, consul.ErrInvalidKey) {
			t.Errorf("CAS %q: %v, want ErrInvalidKey", key, err)
		}
	}
}

func TestStoreListAndDeleteTree(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	cfg := testConfig(t, agent)
	s := newStore(t, cfg)
	ctx := context.Background()
	for _, key := range []string{"topics/b", "topics/a", "topics/c/0", "other"} {
		if _, err := s.CAS(ctx, key, []byte(key), 0); err != nil {
			t.Fatalf("CAS %s: %v", key, err)
		}
	}
	kvs, index, err := s.List(ctx, "topics/")
	if err != nil || index == 0 {
		t.Fatalf("List = index %d, %v", index, err)
	}
	if got := keys(kvs); got != "[topics/a topics/b topics/c/0]" {
		t.Fatalf("List keys %s", got)
	}
	for _, kv := range kvs {
		if string(kv.Value) != kv.Key || kv.Version == 0 {
			t.Errorf("List entry %+v", kv)
		}
	}

	// Another prefix is another key space.
	other := cfg
	other.Prefix += "elsewhere"
	if kvs, _, err := newStore(t, other).List(ctx, ""); err != nil || len(kvs) != 0 {
		t.Fatalf("List of another prefix = %v, %v; want nothing", keys(kvs), err)
	}

	if err := s.DeleteTree(ctx, "topics/"); err != nil {
		t.Fatalf("DeleteTree: %v", err)
	}
	if kvs, _, err := s.List(ctx, ""); err != nil || keys(kvs) != "[other]" {
		t.Fatalf("List after DeleteTree = %s, %v", keys(kvs), err)
	}
}

func TestStoreWatch(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	s := newStore(t, testConfig(t, agent))
	ctx := context.Background()
	if _, err := s.CAS(ctx, "topics/a", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	_, index, err := s.List(ctx, "topics/")
	if err != nil {
		t.Fatal(err)
	}

	// Index 0 answers at once.
	if kvs, i, err := s.Watch(ctx, "topics/", 0); err != nil || i != index || keys(kvs) != "[topics/a]" {
		t.Fatalf("Watch(0) = %s at %d, %v; want [topics/a] at %d", keys(kvs), i, err, index)
	}

	// Nothing changes: the wait time passes and the listing comes back.
	if kvs, i, err := s.Watch(ctx, "topics/", index); err != nil || i != index || keys(kvs) != "[topics/a]" {
		t.Fatalf("idle Watch = %s at %d, %v", keys(kvs), i, err)
	}

	// A change elsewhere does not wake it; a change under the prefix does.
	type result struct {
		kvs   []cluster.KV
		index uint64
		err   error
	}
	done := make(chan result, 1)
	go func() {
		for {
			kvs, i, err := s.Watch(ctx, "topics/", index)
			if err != nil || i != index {
				done <- result{kvs, i, err}
				return
			}
		}
	}()
	if _, err := s.CAS(ctx, "unrelated", []byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CAS(ctx, "topics/b", []byte("2"), 0); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.index <= index || keys(r.kvs) != "[topics/a topics/b]" {
		t.Fatalf("Watch after a write = %s at %d, %v", keys(r.kvs), r.index, r.err)
	}

	// A delete wakes it too.
	index = r.index
	go func() {
		kvs, i, err := s.Watch(ctx, "topics/", index)
		done <- result{kvs, i, err}
	}()
	if err := s.Delete(ctx, "topics/a", 0); err != nil {
		t.Fatal(err)
	}
	for r = <-done; r.err == nil && r.index == index; {
		kvs, i, err := s.Watch(ctx, "topics/", index)
		r = result{kvs, i, err}
	}
	if r.err != nil || keys(r.kvs) != "[topics/b]" {
		t.Fatalf("Watch after a delete = %s at %d, %v", keys(r.kvs), r.index, r.err)
	}

	// A cancelled context ends it with the context's error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.Watch(cctx, "topics/", r.index); !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch cancelled: %v", err)
	}
}

func TestStoreClose(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	s := newStore(t, testConfig(t, agent))
	ctx := context.Background()
	_, index, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	watched := make(chan error, 1)
	go func() {
		for {
			if _, _, err := s.Watch(ctx, "", index); err != nil {
				watched <- err
				return
			}
		}
	}()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-watched; !errors.Is(err, cluster.ErrClosed) {
		t.Fatalf("blocked Watch after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Get(ctx, "a"); !errors.Is(err, cluster.ErrClosed) {
		t.Fatalf("Get after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); !errors.Is(err, cluster.ErrClosed) {
		t.Fatalf("second Close: %v, want ErrClosed", err)
	}
}

func TestStoreUnavailable(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	s := newStore(t, testConfig(t, agent))
	ctx := context.Background()
	if _, err := s.CAS(ctx, "a", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	agent.Stop()

	calls := map[string]func() error{
		"Get":        func() error { _, err := s.Get(ctx, "a"); return err },
		"List":       func() error { _, _, err := s.List(ctx, ""); return err },
		"Watch":      func() error { _, _, err := s.Watch(ctx, "", 1); return err },
		"CAS":        func() error { _, err := s.CAS(ctx, "b", nil, 0); return err },
		"Delete":     func() error { return s.Delete(ctx, "a", 0) },
		"DeleteTree": func() error { return s.DeleteTree(ctx, "") },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, cluster.ErrUnavailable) {
			t.Errorf("%s with Consul down: %v, want ErrUnavailable", name, err)
		}
	}

	// Back, empty (a dev agent keeps nothing), and usable.
	agent.Restart()
	waitFor(t, waitTimeout, func() error {
		_, err := s.CAS(ctx, "b", []byte("2"), 0)
		return err
	})
	if kv, err := s.Get(ctx, "b"); err != nil || string(kv.Value) != "2" {
		t.Fatalf("Get after recovery = %+v, %v", kv, err)
	}
}

// TestStoreWatchIndexReset watches with an index from before the agent lost
// its state: the index Consul reports goes back, and Watch must report the
// new state rather than sleep until Consul catches up with the old index.
func TestStoreWatchIndexReset(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	s := newStore(t, testConfig(t, agent))
	ctx := context.Background()
	for i := range 30 {
		if _, err := s.CAS(ctx, fmt.Sprintf("k%02d", i), nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	_, index, err := s.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	agent.Restart()
	waitFor(t, waitTimeout, func() error {
		_, err := s.CAS(ctx, "after", []byte("x"), 0)
		return err
	})
	kvs, newIndex, err := s.Watch(ctx, "", index)
	if err != nil || keys(kvs) != "[after]" {
		t.Fatalf("Watch across a reset = %s at %d, %v; want [after]", keys(kvs), newIndex, err)
	}
	if newIndex >= index {
		t.Fatalf("index after reset %d, want below %d", newIndex, index)
	}
}

func keys(kvs []cluster.KV) string {
	ks := make([]string, len(kvs))
	for i, kv := range kvs {
		ks[i] = kv.Key
	}
	return fmt.Sprint(ks)
}

func TestStoreConformance(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	storetest.Run(t, func(t *testing.T) cluster.Store {
		return newStore(t, testConfig(t, agent))
	})
}

// TestStoreConsulPaused freezes the agent: calls run into the request
// timeout and fail with ErrUnavailable instead of hanging.
func TestStoreConsulPaused(t *testing.T) {
	t.Parallel()
	agent := consultest.Start(t)
	s := newStore(t, testConfig(t, agent))
	ctx := context.Background()
	if _, err := s.CAS(ctx, "a", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	agent.Pause()
	if _, err := s.Get(ctx, "a"); !errors.Is(err, cluster.ErrUnavailable) {
		t.Errorf("Get with Consul paused: %v, want ErrUnavailable", err)
	}
	agent.Resume()
	if kv, err := s.Get(ctx, "a"); err != nil || string(kv.Value) != "1" {
		t.Fatalf("Get after resume = %+v, %v", kv, err)
	}
}
