package node

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

// A store that loses its contents (a Consul dev agent restarted) must not
// make the node delete its partitions; once the metadata is back, the node
// follows the store again.
func TestNodeKeepsPartitionsWhenTheStoreLosesTheMetadata(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	id, err := metadata.EnsureClusterID(ctx, h.store)
	if err != nil {
		t.Fatal(err)
	}
	h.stop()
	h.start() // now with the cluster id in its initial snapshot
	h.createTopic("orders", 1, nil)
	if r := h.produce("orders", 0, "kept"); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("produce: %v", r.ErrorCode)
	}
	orders, err := metadata.GetTopic(ctx, h.store, "orders")
	if err != nil {
		t.Fatal(err)
	}
	state, err := metadata.GetPartitionState(ctx, h.store, "orders", 0)
	if err != nil {
		t.Fatal(err)
	}

	// Wiped, then filled by someone else: another cluster id and a topic.
	if err := h.store.DeleteTree(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.CAS(ctx, metadata.ClusterIDKey, []byte("another-cluster"), 0); err != nil {
		t.Fatal(err)
	}
	if err := metadata.CreateTopic(ctx, h.store, metadata.Topic{Name: "foreign", Replicas: [][]int32{{1}}}, nil); err != nil {
		t.Fatal(err)
	}

	// Restored: this cluster's id and topics again, plus a new topic whose
	// replica shows that the node has caught up with the store.
	if err := h.store.DeleteTree(ctx, ""); err != nil {
		t.Fatal(err)
	}
	// The cluster id goes last, as the node ignores the store until it is
	// back (a restore from a Consul snapshot is atomic anyway).
	if err := metadata.CreateTopic(ctx, h.store, orders, []metadata.PartitionState{state}); err != nil {
		t.Fatal(err)
	}
	if err := metadata.CreateTopic(ctx, h.store, metadata.Topic{Name: "after", Replicas: [][]int32{{1}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.CAS(ctx, metadata.ClusterIDKey, []byte(id), 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() error {
		_, err := h.system.Root.RequestFuture(h.replica("after", 0), &messages.PartitionStatusRequest{Topic: "after"}, requestTimeout).Result()
		if err != nil {
			return fmt.Errorf("replica of the topic created after the restore: %w", err)
		}
		return nil
	})
	st := request[*messages.PartitionStatusResponse](h, h.replica("orders", 0), &messages.PartitionStatusRequest{Topic: "orders"})
	if st.ErrorCode != messages.ErrorCode_NONE || st.LogEndOffset != 1 {
		t.Fatalf("orders/0 after the store was wiped and restored: %v, log end %d", st.ErrorCode, st.LogEndOffset)
	}
	_, err = h.system.Root.RequestFuture(h.replica("foreign", 0), &messages.PartitionStatusRequest{Topic: "foreign"}, requestTimeout).Result()
	if !errors.Is(err, actor.ErrDeadLetter) {
		t.Fatalf("replica of the other cluster's topic: %v, want a dead letter", err)
	}
}
