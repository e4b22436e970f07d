package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster"
)

// WatchWaitLimit bounds how long any single suite operation may block. A
// store whose wait time exceeds it fails the wait-time test.
const WatchWaitLimit = 30 * time.Second

// Factory returns a fresh, empty store for one test.
type Factory func(t *testing.T) cluster.Store

// Run runs the whole conformance suite against stores made by open.
func Run(t *testing.T, open Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Factory)
	}{
		{"GetMissing", testGetMissing},
		{"CreateAndGet", testCreateAndGet},
		{"CreateExisting", testCreateExisting},
		{"UpdateVersions", testUpdateVersions},
		{"UpdateMissing", testUpdateMissing},
		{"EmptyValue", testEmptyValue},
		{"ValueIsCopied", testValueIsCopied},
		{"DeleteVersions", testDeleteVersions},
		{"DeleteRecreate", testDeleteRecreate},
		{"DeleteTree", testDeleteTree},
		{"ListSortedByPrefix", testListSortedByPrefix},
		{"ListIndexAdvances", testListIndexAdvances},
		{"WatchReturnsPendingChange", testWatchReturnsPendingChange},
		{"WatchWakesOnWrite", testWatchWakesOnWrite},
		{"WatchWakesOnDelete", testWatchWakesOnDelete},
		{"WatchWaitTime", testWatchWaitTime},
		{"WatchContextCancel", testWatchContextCancel},
		{"ConcurrentCAS", testConcurrentCAS},
		{"Closed", testClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WatchWaitLimit)
	t.Cleanup(cancel)
	return ctx
}

func mustCAS(t *testing.T, st cluster.Store, key, value string, version uint64) uint64 {
	t.Helper()
	v, err := st.CAS(ctxT(t), key, []byte(value), version)
	if err != nil {
		t.Fatalf("CAS(%q, %q, %d): %v", key, value, version, err)
	}
	if v == 0 {
		t.Fatalf("CAS(%q, %q, %d) returned version 0", key, value, version)
	}
	return v
}

func mustGet(t *testing.T, st cluster.Store, key string) cluster.KV {
	t.Helper()
	kv, err := st.Get(ctxT(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return kv
}

func keysOf(kvs []cluster.KV) []string {
	keys := make([]string, len(kvs))
	for i, kv := range kvs {
		keys[i] = kv.Key
	}
	return keys
}

func equalKeys(kvs []cluster.KV, want ...string) bool {
	got := keysOf(kvs)
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func testGetMissing(t *testing.T, open Factory) {
	st := open(t)
	if _, err := st.Get(ctxT(t), "missing"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("Get(missing) = %v, want ErrNotFound", err)
	}
}

func testCreateAndGet(t *testing.T, open Factory) {
	st := open(t)
	v := mustCAS(t, st, "topics/a", "one", 0)
	kv := mustGet(t, st, "topics/a")
	if kv.Key != "topics/a" || string(kv.Value) != "one" || kv.Version != v {
		t.Fatalf("Get = %+v, want key topics/a value one version %d", kv, v)
	}
}

func testCreateExisting(t *testing.T, open Factory) {
	st := open(t)
	v := mustCAS(t, st, "k", "one", 0)
	if _, err := st.CAS(ctxT(t), "k", []byte("two"), 0); !errors.Is(err, cluster.ErrVersionMismatch) {
		t.Fatalf("second create = %v, want ErrVersionMismatch", err)
	}
	if kv := mustGet(t, st, "k"); string(kv.Value) != "one" || kv.Version != v {
		t.Fatalf("after failed create: %+v, want value one version %d", kv, v)
	}
}

func testUpdateVersions(t *testing.T, open Factory) {
	st := open(t)
	v1 := mustCAS(t, st, "k", "one", 0)
	v2 := mustCAS(t, st, "k", "two", v1)
	if v2 <= v1 {
		t.Fatalf("update version %d not above create version %d", v2, v1)
	}
	// A writer holding the old version loses.
	if _, err := st.CAS(ctxT(t), "k", []byte("stale"), v1); !errors.Is(err, cluster.ErrVersionMismatch) {
		t.Fatalf("stale CAS = %v, want ErrVersionMismatch", err)
	}
	if kv := mustGet(t, st, "k"); string(kv.Value) != "two" || kv.Version != v2 {
		t.Fatalf("after stale CAS: %+v, want value two version %d", kv, v2)
	}
	v3 := mustCAS(t, st, "k", "three", v2)
	if v3 <= v2 {
		t.Fatalf("version %d not above %d", v3, v2)
	}
}

func testUpdateMissing(t *testing.T, open Factory) {
	st := open(t)
	if _, err := st.CAS(ctxT(t), "missing", []byte("x"), 7); !errors.Is(err, cluster.ErrVersionMismatch) {
		t.Fatalf("CAS on missing key with version = %v, want ErrVersionMismatch", err)
	}
	if _, err := st.Get(ctxT(t), "missing"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("Get after failed CAS = %v, want ErrNotFound", err)
	}
}

func testEmptyValue(t *testing.T, open Factory) {
	st := open(t)
	mustCAS(t, st, "empty", "", 0)
	if kv := mustGet(t, st, "empty"); len(kv.Value) != 0 {
		t.Fatalf("empty value read back as %q", kv.Value)
	}
}

func testValueIsCopied(t *testing.T, open Factory) {
	st := open(t)
	buf := []byte("original")
	if _, err := st.CAS(ctxT(t), "k", buf, 0); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXXXX")
	kv := mustGet(t, st, "k")
	copy(kv.Value, "YYYYYYYY")
	if kv := mustGet(t, st, "k"); string(kv.Value) != "original" {
		t.Fatalf("stored value changed through caller's slice: %q", kv.Value)
	}
}

func testDeleteVersions(t *testing.T, open Factory) {
	st := open(t)
	ctx := ctxT(t)
	v1 := mustCAS(t, st, "k", "one", 0)
	v2 := mustCAS(t, st, "k", "two", v1)
	// Delete with a stale version fails and keeps the key.
	if err := st.Delete(ctx, "k", v1); !errors.Is(err, cluster.ErrVersionMismatch) {
		t.Fatalf("Delete stale = %v, want ErrVersionMismatch", err)
	}
	mustGet(t, st, "k")
	// Delete with the current version removes it.
	if err := st.Delete(ctx, "k", v2); err != nil {
		t.Fatalf("Delete current: %v", err)
	}
	if _, err := st.Get(ctx, "k"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("Get after delete = %v, want ErrNotFound", err)
	}
	// Missing key: version 0 is fine, a version is a mismatch.
	if err := st.Delete(ctx, "k", 0); err != nil {
		t.Fatalf("Delete missing with version 0 = %v, want nil", err)
	}
	if err := st.Delete(ctx, "k", v2); !errors.Is(err, cluster.ErrVersionMismatch) {
		t.Fatalf("Delete missing with version = %v, want ErrVersionMismatch", err)
	}
	// Version 0 deletes whatever is there.
	mustCAS(t, st, "j", "x", 0)
	if err := st.Delete(ctx, "j", 0); err != nil {
		t.Fatalf("Delete any: %v", err)
	}
	if _, err := st.Get(ctx, "j"); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("Get after unconditional delete = %v, want ErrNotFound", err)
	}
}

func testDeleteRecreate(t *testing.T, open Factory) {
	st := open(t)
	v1 := mustCAS(t, st, "k", "one", 0)
	if err := st.Delete(ctxT(t), "k", v1); err != nil {
		t.Fatal(err)
	}
	v2 := mustCAS(t, st, "k", "again", 0)
	if kv := mustGet(t, st, "k"); string(kv.Value) != "again" || kv.Version != v2 {
		t.Fatalf("recreated key = %+v, want value again version %d", kv, v2)
	}
}

func testDeleteTree(t *testing.T, open Factory) {
	st := open(t)
	ctx := ctxT(t)
	for _, k := range []string{"partitions/a/0", "partitions/a/1", "partitions/ab/0", "partitions/b/0", "topics/a"} {
		mustCAS(t, st, k, "v", 0)
	}
	if err := st.DeleteTree(ctx, "partitions/a/"); err != nil {
		t.Fatalf("DeleteTree: %v", err)
	}
	kvs, _, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !equalKeys(kvs, "partitions/ab/0", "partitions/b/0", "topics/a") {
		t.Fatalf("after DeleteTree(partitions/a/): %v", keysOf(kvs))
	}
	// An empty subtree is not an error.
	if err := st.DeleteTree(ctx, "nothing/"); err != nil {
		t.Fatalf("DeleteTree on empty prefix: %v", err)
	}
}

func testListSortedByPrefix(t *testing.T, open Factory) {
	st := open(t)
	ctx := ctxT(t)
	for _, k := range []string{"topics/zeta", "topics/alpha", "partitions/alpha/0", "topics/mid", "topicsx"} {
		mustCAS(t, st, k, "v-"+k, 0)
	}
	kvs, index, err := st.List(ctx, "topics/")
	if err != nil {
		t.Fatal(err)
	}
	if !equalKeys(kvs, "topics/alpha", "topics/mid", "topics/zeta") {
		t.Fatalf("List(topics/) = %v", keysOf(kvs))
	}
	for _, kv := range kvs {
		if string(kv.Value) != "v-"+kv.Key || kv.Version == 0 || kv.Version > index {
			t.Fatalf("listed %+v with index %d", kv, index)
		}
	}
	empty, _, err := st.List(ctx, "none/")
	if err != nil || len(empty) != 0 {
		t.Fatalf("List(none/) = %v, %v; want empty", keysOf(empty), err)
	}
}

func testListIndexAdvances(t *testing.T, open Factory) {
	st := open(t)
	ctx := ctxT(t)
	mustCAS(t, st, "p/a", "1", 0)
	_, i1, err := st.List(ctx, "p/")
	if err != nil {
		t.Fatal(err)
	}
	mustCAS(t, st, "p/b", "2", 0)
	_, i2, err := st.List(ctx, "p/")
	if err != nil {
		t.Fatal(err)
	}
	if i2 <= i1 {
		t.Fatalf("index after write %d not above %d", i2, i1)
	}
}

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

func testConcurrentCAS(t *testing.T, open Factory) {
	st := open(t)
	const workers, increments = 4, 20
	mustCAS(t, st, "counter", "0", 0)
	var wg sync.WaitGroup
	errs := make(chan error, workers*2)
	for w := range workers {
		wg.Add(2)
		// Incrementers race on one key; every lost CAS re-reads and retries.
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for range increments {
				for {
					kv, err := st.Get(ctx, "counter")
					if err != nil {
						errs <- err
						return
					}
					n, err := strconv.Atoi(string(kv.Value))
					if err != nil {
						errs <- err
						return
					}
					_, err = st.CAS(ctx, "counter", []byte(strconv.Itoa(n+1)), kv.Version)
					if err == nil {
						break
					}
					if !errors.Is(err, cluster.ErrVersionMismatch) {
						errs <- err
						return
					}
				}
			}
		}()
		// Writers of distinct keys and readers run alongside.
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for i := range increments {
				key := fmt.Sprintf("keys/%d/%02d", w, i)
				if _, err := st.CAS(ctx, key, []byte("v"), 0); err != nil {
					errs <- err
					return
				}
				if _, _, err := st.List(ctx, "keys/"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if kv := mustGet(t, st, "counter"); string(kv.Value) != strconv.Itoa(workers*increments) {
		t.Fatalf("counter = %s, want %d (a CAS was lost)", kv.Value, workers*increments)
	}
	kvs, _, err := st.List(ctxT(t), "keys/")
	if err != nil || len(kvs) != workers*increments {
		t.Fatalf("List(keys/) = %d keys, %v; want %d", len(kvs), err, workers*increments)
	}
}

func testClosed(t *testing.T, open Factory) {
	st := open(t)
	mustCAS(t, st, "k", "v", 0)
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := ctxT(t)
	checks := map[string]error{}
	_, checks["Get"] = st.Get(ctx, "k")
	_, _, checks["List"] = st.List(ctx, "")
	_, checks["CAS"] = st.CAS(ctx, "k2", []byte("v"), 0)
	checks["Delete"] = st.Delete(ctx, "k", 0)
	checks["DeleteTree"] = st.DeleteTree(ctx, "")
	_, _, checks["Watch"] = st.Watch(ctx, "", 1)
	for op, err := range checks {
		if !errors.Is(err, cluster.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", op, err)
		}
	}
}
