package storetest

import (
	"context"
	"errors"
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
