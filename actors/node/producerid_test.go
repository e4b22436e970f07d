package node

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/producerid"
	"github.com/sluice-mq/sluice/messages"
)

func (h *harness) initProducerID(req *messages.InitProducerIdRequest) *messages.InitProducerIdResponse {
	h.t.Helper()
	return request[*messages.InitProducerIdResponse](h, h.pid, req)
}

func newSession() *messages.InitProducerIdRequest {
	return &messages.InitProducerIdRequest{ProducerId: -1, ProducerEpoch: -1}
}

// TestNodeInitProducerIDBlocks: fresh sessions get distinct ids at epoch 0
// across block claims (blocks of 4), concurrent requests included, and a
// restarted node hands out ids after every id of its previous run.
func TestNodeInitProducerIDBlocks(t *testing.T) {
	h := newHarness(t)
	h.stop()
	h.blockSize = 4
	h.start()
	seen := make(map[int64]bool)
	take := func(r *messages.InitProducerIdResponse) {
		t.Helper()
		if r.ErrorCode != messages.ErrorCode_NONE || r.ProducerEpoch != 0 || r.ProducerId < 0 {
			t.Fatalf("InitProducerId = %+v", r)
		}
		if seen[r.ProducerId] {
			t.Fatalf("producer id %d handed out twice", r.ProducerId)
		}
		seen[r.ProducerId] = true
	}
	for range 10 {
		take(h.initProducerID(newSession()))
	}
	// Concurrent requests queue behind the claims and all get ids.
	var wg sync.WaitGroup
	results := make(chan *messages.InitProducerIdResponse, 40)
	for range cap(results) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := h.system.Root.RequestFuture(h.pid, newSession(), requestTimeout).Result()
			if err != nil {
				res = &messages.InitProducerIdResponse{ErrorCode: messages.ErrorCode_REQUEST_TIMED_OUT, ErrorMessage: err.Error()}
			}
			results <- res.(*messages.InitProducerIdResponse)
		}()
	}
	wg.Wait()
	close(results)
	for r := range results {
		take(r)
	}
	highest := int64(-1)
	for id := range seen {
		highest = max(highest, id)
	}

	h.stop()
	h.start()
	r := h.initProducerID(newSession())
	take(r)
	if r.ProducerId <= highest {
		t.Fatalf("after restart id %d, want above %d (the previous run's ids)", r.ProducerId, highest)
	}
	kv, err := h.store.Get(context.Background(), producerid.Key)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := producerid.Decode(kv.Value); err != nil || !b.Contains(r.ProducerId) || b.NodeID != 1 {
		t.Fatalf("latest block %+v, %v does not hold id %d", b, err, r.ProducerId)
	}
}

// TestNodeInitProducerIDEpochBump: an idempotent producer sending its id
// and epoch (KIP-360) gets the same id with the next epoch, and a fresh id
// once the epoch would run out; bad requests are refused.
func TestNodeInitProducerIDEpochBump(t *testing.T) {
	h := newHarness(t)
	first := h.initProducerID(newSession())
	r := h.initProducerID(&messages.InitProducerIdRequest{ProducerId: first.ProducerId, ProducerEpoch: 3})
	if r.ErrorCode != messages.ErrorCode_NONE || r.ProducerId != first.ProducerId || r.ProducerEpoch != 4 {
		t.Fatalf("bump of %d/3 = %+v, want %d/4", first.ProducerId, r, first.ProducerId)
	}
	r = h.initProducerID(&messages.InitProducerIdRequest{ProducerId: first.ProducerId, ProducerEpoch: math.MaxInt16 - 1})
	if r.ErrorCode != messages.ErrorCode_NONE || r.ProducerId == first.ProducerId || r.ProducerEpoch != 0 {
		t.Fatalf("bump of an exhausted epoch = %+v, want a new id at epoch 0", r)
	}
	for _, bad := range []*messages.InitProducerIdRequest{
		{ProducerId: 5, ProducerEpoch: -1},
		{ProducerId: -1, ProducerEpoch: 2},
		{ProducerId: -7, ProducerEpoch: -7},
		{ProducerId: 5, ProducerEpoch: math.MaxInt16 + 1},
	} {
		if r := h.initProducerID(bad); r.ErrorCode != messages.ErrorCode_INVALID_REQUEST || r.ProducerId != -1 {
			t.Errorf("InitProducerId %+v = %+v, want INVALID_REQUEST", bad, r)
		}
	}
	// With a transactional id the request belongs to the transaction
	// coordinator, whose topic does not exist yet.
	if r := h.initProducerID(&messages.InitProducerIdRequest{TransactionalId: "tx", ProducerId: -1, ProducerEpoch: -1}); r.ErrorCode != messages.ErrorCode_COORDINATOR_NOT_AVAILABLE {
		t.Errorf("InitProducerId with a transactional id = %+v, want COORDINATOR_NOT_AVAILABLE", r)
	}
}

// failingStore fails every access to the producer id key while fail is set.
type failingStore struct {
	cluster.Store
	fail atomic.Bool
}

var errStoreDown = fmt.Errorf("store down: %w", cluster.ErrUnavailable)

func (s *failingStore) Get(ctx context.Context, key string) (cluster.KV, error) {
	if key == producerid.Key && s.fail.Load() {
		return cluster.KV{}, errStoreDown
	}
	return s.Store.Get(ctx, key)
}

func (s *failingStore) CAS(ctx context.Context, key string, value []byte, version uint64) (uint64, error) {
	if key == producerid.Key && s.fail.Load() {
		return 0, errStoreDown
	}
	return s.Store.CAS(ctx, key, value, version)
}

// TestNodeInitProducerIDStoreDown: while no block can be claimed the node
// answers the retriable COORDINATOR_LOAD_IN_PROGRESS (and keeps serving
// other requests); once the store is back ids are handed out again.
func TestNodeInitProducerIDStoreDown(t *testing.T) {
	h := newHarness(t)
	h.stop()
	fs := &failingStore{}
	fs.fail.Store(true)
	h.wrap = func(st cluster.Store) cluster.Store { fs.Store = st; return fs }
	h.start()
	r := h.initProducerID(newSession())
	err := messages.ErrorForCode(r.ErrorCode, r.ErrorMessage)
	if !errors.Is(err, messages.ErrCoordinatorLoadInProgress) || !messages.IsRetriable(err) || r.ProducerId != -1 {
		t.Fatalf("InitProducerId with the store down = %+v, want retriable COORDINATOR_LOAD_IN_PROGRESS", r)
	}
	if md := request[*messages.MetadataResponse](h, h.pid, &messages.MetadataRequest{}); md.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("metadata while claims fail: %+v", md)
	}
	fs.fail.Store(false)
	// The first start may have claimed block 0 before it stopped, so the id
	// is the start of block 0 or of the next one.
	if r := h.initProducerID(newSession()); r.ErrorCode != messages.ErrorCode_NONE || (r.ProducerId != 0 && r.ProducerId != 1000) {
		t.Fatalf("InitProducerId with the store back = %+v, want id 0 or 1000", r)
	}
}

// TestNodeInitProducerIDPrefetchedAtStart: a node claims its first block
// when it starts, so producers that start while the store is down later
// still get ids.
func TestNodeInitProducerIDPrefetchedAtStart(t *testing.T) {
	h := newHarness(t)
	claimed := func(start int64) func() error {
		return func() error {
			kv, err := h.store.Get(context.Background(), producerid.Key)
			if err != nil {
				return err
			}
			b, err := producerid.Decode(kv.Value)
			if err != nil {
				return err
			}
			if b.Start != start {
				return fmt.Errorf("latest claimed block %v, want one starting at %d", b, start)
			}
			return nil
		}
	}
	waitFor(t, claimed(0))
	h.stop()
	fs := &failingStore{}
	h.wrap = func(st cluster.Store) cluster.Store { fs.Store = st; return fs }
	h.start()
	waitFor(t, claimed(1000))
	fs.fail.Store(true)
	r := h.initProducerID(newSession())
	if r.ErrorCode != messages.ErrorCode_NONE || r.ProducerId < 1000 || r.ProducerId >= 2000 {
		t.Fatalf("InitProducerId with the store down after start = %+v, want an id of the block claimed at start", r)
	}
}
