package producerid_test

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/consul"
	"github.com/sluice-mq/sluice/cluster/consul/consultest"
	"github.com/sluice-mq/sluice/cluster/local"
	"github.com/sluice-mq/sluice/cluster/producerid"
)

type factory func(t *testing.T) cluster.Store

func memoryStore(t *testing.T) cluster.Store {
	st := local.OpenMemory()
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func fileStore(t *testing.T) cluster.Store {
	st, err := local.Open(filepath.Join(t.TempDir(), "metadata"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func consulStores(t *testing.T) factory {
	agent := consultest.Start(t)
	return func(t *testing.T) cluster.Store {
		st, err := consul.NewStore(consul.Config{
			Address: agent.Addr(),
			Prefix:  "test/" + filepath.Base(t.Name()) + "/",
			Timeout: 5 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
}

func TestClaimLocal(t *testing.T) {
	runClaimSuite(t, memoryStore)
}

func TestClaimConsul(t *testing.T) {
	runClaimSuite(t, consulStores(t))
}

func runClaimSuite(t *testing.T, open factory) {
	t.Run("Sequential", func(t *testing.T) { testSequential(t, open(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, open(t)) })
	t.Run("Malformed", func(t *testing.T) { testMalformed(t, open(t)) })
	t.Run("Exhausted", func(t *testing.T) { testExhausted(t, open(t)) })
	t.Run("Raise", func(t *testing.T) { testRaise(t, open(t)) })
}

// testRaise: a raised store hands out ids from the floor on; raising
// below what was handed out changes nothing.
func testRaise(t *testing.T, st cluster.Store) {
	if err := producerid.Raise(ctxT(t), st, 1, 5000); err != nil {
		t.Fatal(err)
	}
	if b := mustClaim(t, st, 2, 100); b.Start != 5001 {
		t.Fatalf("claim after raising to 5000 = %+v, want start 5001", b)
	}
	if err := producerid.Raise(ctxT(t), st, 1, 10); err != nil {
		t.Fatal(err)
	}
	if b := mustClaim(t, st, 2, 100); b.Start != 5101 {
		t.Fatalf("claim after raising below the latest block = %+v, want start 5101", b)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustClaim(t *testing.T, st cluster.Store, node int32, size int64) producerid.Block {
	t.Helper()
	b, err := producerid.Claim(ctxT(t), st, node, size)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	return b
}

// testSequential: blocks follow each other from 0, whoever claims, and the
// store records the latest.
func testSequential(t *testing.T, st cluster.Store) {
	want := int64(0)
	for i, node := range []int32{1, 2, 1, 3} {
		b := mustClaim(t, st, node, producerid.DefaultBlockSize)
		if b.Start != want || b.Size != producerid.DefaultBlockSize || b.NodeID != node {
			t.Fatalf("claim %d = %+v, want start %d size %d node %d", i, b, want, producerid.DefaultBlockSize, node)
		}
		want = b.End()
	}
	kv, err := st.Get(ctxT(t), producerid.Key)
	if err != nil {
		t.Fatal(err)
	}
	if last, err := producerid.Decode(kv.Value); err != nil || last.Start != 3000 || last.NodeID != 3 {
		t.Fatalf("stored block %s = %+v, %v; want node 3's block at 3000", kv.Value, last, err)
	}
	if _, err := producerid.Claim(ctxT(t), st, 1, 0); !errors.Is(err, producerid.ErrInvalidSize) {
		t.Fatalf("Claim size 0: %v, want ErrInvalidSize", err)
	}
}

// testConcurrent: claimers racing on the key (as nodes do) never get
// overlapping blocks, and together they cover the range without holes.
func testConcurrent(t *testing.T, st cluster.Store) {
	const claimers, claims, size = 4, 10, 100
	var (
		mu     sync.Mutex
		blocks []producerid.Block
		wg     sync.WaitGroup
	)
	errs := make(chan error, claimers)
	for c := range claimers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range claims {
				b, err := producerid.Claim(context.Background(), st, int32(c+1), size)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				blocks = append(blocks, b)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sort.Slice(blocks, func(i, j int) bool { return blocks[i].Start < blocks[j].Start })
	if len(blocks) != claimers*claims {
		t.Fatalf("%d blocks, want %d", len(blocks), claimers*claims)
	}
	for i, b := range blocks {
		if b.Start != int64(i)*size || b.Size != size {
			t.Fatalf("block %d = %+v: overlapping or missing blocks (want start %d)", i, b, int64(i)*size)
		}
	}
}

func testMalformed(t *testing.T, st cluster.Store) {
	for _, value := range []string{"not json", `{"start":-1,"size":10}`, `{"start":0,"size":0}`} {
		_ = st.Delete(ctxT(t), producerid.Key, 0)
		if _, err := st.CAS(ctxT(t), producerid.Key, []byte(value), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := producerid.Claim(ctxT(t), st, 1, 10); !errors.Is(err, producerid.ErrMalformed) {
			t.Errorf("Claim over %q: %v, want ErrMalformed", value, err)
		}
		if kv, err := st.Get(ctxT(t), producerid.Key); err != nil || string(kv.Value) != value {
			t.Errorf("record after a refused claim = %q, %v; want it unchanged", kv.Value, err)
		}
	}
}

func testExhausted(t *testing.T, st cluster.Store) {
	last := producerid.Block{NodeID: 1, Start: math.MaxInt64 - 150, Size: 100}
	if _, err := st.CAS(ctxT(t), producerid.Key, producerid.Encode(last), 0); err != nil {
		t.Fatal(err)
	}
	if b := mustClaim(t, st, 2, 40); b.Start != last.End() {
		t.Fatalf("claim = %+v, want start %d", b, last.End())
	}
	if _, err := producerid.Claim(ctxT(t), st, 2, 40); !errors.Is(err, producerid.ErrExhausted) {
		t.Fatalf("Claim past the id space: %v, want ErrExhausted", err)
	}
}

// TestClaimAfterRestart: a node that restarts (new allocator, file store
// reopened) gets a block after everything handed out before.
func TestClaimAfterRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "metadata")
	open := func() *local.Store {
		st, err := local.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	a := producerid.NewAllocator(10)
	if !a.Prefetch() {
		t.Fatal("no claim wanted by an empty allocator")
	}
	a.Claimed(mustClaim(t, st, 1, a.BlockSize()))
	first, _ := a.Next()
	second, _ := a.Next()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = open()
	defer st.Close()
	a = producerid.NewAllocator(10)
	if !a.Prefetch() {
		t.Fatal("no claim wanted after restart")
	}
	b := mustClaim(t, st, 1, a.BlockSize())
	if b.Contains(first) || b.Contains(second) || b.Start < 10 {
		t.Fatalf("block after restart %+v reuses ids of the first block (handed out %d, %d)", b, first, second)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"node_id":2,"start":3000,"size":1000}`))
	f.Add([]byte(`{"start":9223372036854775000,"size":1000}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, value []byte) {
		b, err := producerid.Decode(value)
		if err != nil {
			if !errors.Is(err, producerid.ErrMalformed) {
				t.Fatalf("Decode error %v is not ErrMalformed", err)
			}
			return
		}
		if b.Start < 0 || b.Size < 1 || b.End() < b.Start {
			t.Fatalf("Decode accepted an impossible block %+v", b)
		}
		again, err := producerid.Decode(producerid.Encode(b))
		if err != nil || again != b {
			t.Fatalf("round trip %+v = %+v, %v", b, again, err)
		}
	})
}
