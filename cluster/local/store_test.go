package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/storetest"
)

const testWaitTime = 100 * time.Millisecond

func closeStore(t *testing.T, st cluster.Store) {
	t.Helper()
	if err := st.Close(); err != nil && !errors.Is(err, cluster.ErrClosed) {
		t.Errorf("Close: %v", err)
	}
}

func TestStoreConformanceMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) cluster.Store {
		st := OpenMemory(WithWaitTime(testWaitTime))
		t.Cleanup(func() { closeStore(t, st) })
		return st
	})
}

func TestStoreConformanceFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) cluster.Store {
		st, err := Open(t.TempDir(), WithWaitTime(testWaitTime))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { closeStore(t, st) })
		return st
	})
}

func TestStoreReopenKeepsKeysVersionsIndex(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "metadata")
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	va, _ := st.CAS(ctx, "topics/a", []byte("A"), 0)
	vb, _ := st.CAS(ctx, "topics/b", []byte("B"), 0)
	vb, err = st.CAS(ctx, "topics/b", []byte("B2"), vb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CAS(ctx, "topics/c", []byte("C"), 0); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "topics/c", 0); err != nil {
		t.Fatal(err)
	}
	want, wantIndex, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = Open(dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer closeStore(t, st)
	got, gotIndex, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if gotIndex != wantIndex || len(got) != len(want) {
		t.Fatalf("reopened: %d keys index %d, want %d keys index %d", len(got), gotIndex, len(want), wantIndex)
	}
	for i := range want {
		if got[i].Key != want[i].Key || string(got[i].Value) != string(want[i].Value) || got[i].Version != want[i].Version {
			t.Fatalf("reopened key %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if got[0].Version != va || got[1].Version != vb {
		t.Fatalf("versions %d,%d want %d,%d", got[0].Version, got[1].Version, va, vb)
	}
	// Old versions still work for CAS, and new versions continue above the index.
	v, err := st.CAS(ctx, "topics/a", []byte("A2"), va)
	if err != nil {
		t.Fatalf("CAS with pre-restart version: %v", err)
	}
	if v <= wantIndex {
		t.Fatalf("version after reopen %d not above index %d", v, wantIndex)
	}
}

func TestStoreOpenCorrupt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CAS(ctx, "topics/orders", []byte(`{"name":"orders"}`), 0); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, fileName))
	if err != nil {
		t.Fatal(err)
	}
	header := strings.IndexByte(string(good), '\n')
	flipped := append([]byte(nil), good...)
	flipped[header+10] ^= 0x20

	cases := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte("not a metadata file\n")},
		{"no header line", []byte("sluice-metadata")},
		{"torn body", good[:len(good)-20]},
		{"flipped bit", flipped},
		{"future format", []byte(strings.Replace(string(good), "sluice-metadata 1 ", "sluice-metadata 9 ", 1))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			if err := os.WriteFile(filepath.Join(d, fileName), tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			st, err := Open(d)
			if err == nil {
				st.Close()
				t.Fatal("Open succeeded on a corrupt file")
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fileName) {
				t.Fatalf("Open = %v, want ErrCorrupt naming the file", err)
			}
		})
	}
}

func TestStoreOpenIgnoresLeftoverTempFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CAS(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	st.Close()
	// A crash mid-write leaves a partial temp file next to the real one.
	if err := os.WriteFile(filepath.Join(dir, fileName+tempSuffix), []byte("sluice-meta"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err = Open(dir)
	if err != nil {
		t.Fatalf("Open with leftover temp file: %v", err)
	}
	defer st.Close()
	if kv, err := st.Get(ctx, "k"); err != nil || string(kv.Value) != "v" {
		t.Fatalf("Get = %+v, %v", kv, err)
	}
	if _, err := st.CAS(ctx, "k2", []byte("v"), 0); err != nil {
		t.Fatalf("write after leftover temp file: %v", err)
	}
}

func TestStoreOpenLocked(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if second, err := Open(dir); err == nil {
		second.Close()
		t.Fatal("second Open of the same directory succeeded")
	}
	st.Close()
	again, err := Open(dir)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	again.Close()
}

func TestStoreWriteFailureLeavesStateUnchanged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	v, err := st.CAS(ctx, "k", []byte("one"), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Make the temp file path unwritable: a directory in its place.
	if err := os.Mkdir(filepath.Join(dir, fileName+tempSuffix), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CAS(ctx, "k", []byte("two"), v); err == nil {
		t.Fatal("CAS succeeded although the file could not be written")
	}
	if err := st.Delete(ctx, "k", 0); err == nil {
		t.Fatal("Delete succeeded although the file could not be written")
	}
	kv, err := st.Get(ctx, "k")
	if err != nil || string(kv.Value) != "one" || kv.Version != v {
		t.Fatalf("after failed writes: %+v, %v; want value one version %d", kv, err, v)
	}
	if err := os.Remove(filepath.Join(dir, fileName+tempSuffix)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CAS(ctx, "k", []byte("two"), v); err != nil {
		t.Fatalf("CAS after the fault cleared: %v", err)
	}
}

func TestStoreWatchReturnsOnClose(t *testing.T) {
	st := OpenMemory()
	ctx := context.Background()
	if _, err := st.CAS(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	_, index, _ := st.List(ctx, "")
	done := make(chan error, 1)
	go func() {
		_, _, err := st.Watch(ctx, "", index)
		done <- err
	}()
	st.Close()
	if err := <-done; !errors.Is(err, cluster.ErrClosed) {
		t.Fatalf("Watch after Close = %v, want ErrClosed", err)
	}
}

func TestStoreWatchAfterManyDeletes(t *testing.T) {
	// Past maxTombstones the store forgets which keys were deleted; a watch
	// on a prefix must still see a deletion under it.
	st := OpenMemory(WithWaitTime(testWaitTime))
	defer st.Close()
	ctx := context.Background()
	if _, err := st.CAS(ctx, "w/a", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	_, index, _ := st.List(ctx, "w/")
	for i := 0; i <= maxTombstones; i++ {
		key := fmt.Sprintf("x/%d", i)
		if _, err := st.CAS(ctx, key, nil, 0); err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, key, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Delete(ctx, "w/a", 0); err != nil {
		t.Fatal(err)
	}
	for {
		kvs, next, err := st.Watch(ctx, "w/", index)
		if err != nil {
			t.Fatal(err)
		}
		if len(kvs) == 0 {
			break
		}
		if next == index {
			t.Fatal("Watch timed out without seeing the deletion of w/a")
		}
		index = next
	}
}

// PutAll writes many keys, new and existing, in one commit.
func TestStorePutAll(t *testing.T) {
	ctx := context.Background()
	st, err := Open(t.TempDir(), WithWaitTime(testWaitTime))
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore(t, st)
	if _, err := st.CAS(ctx, "k/0", []byte("old"), 0); err != nil {
		t.Fatal(err)
	}
	_, before, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	kvs := make([]cluster.KV, 100)
	for i := range kvs {
		kvs[i] = cluster.KV{Key: fmt.Sprintf("k/%d", i), Value: []byte(fmt.Sprint(i))}
	}
	if err := st.PutAll(ctx, kvs); err != nil {
		t.Fatal(err)
	}
	got, after, err := st.List(ctx, "k/")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 100 || after != before+100 {
		t.Fatalf("%d keys, index %d -> %d", len(got), before, after)
	}
	kv, err := st.Get(ctx, "k/0")
	if err != nil || string(kv.Value) != "0" {
		t.Fatalf("k/0 = %q %v", kv.Value, err)
	}
	if err := st.PutAll(ctx, []cluster.KV{{Key: ""}}); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("empty key: %v", err)
	}
}
