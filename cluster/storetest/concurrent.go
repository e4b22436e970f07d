package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/sluice-mq/sluice/cluster"
)

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
