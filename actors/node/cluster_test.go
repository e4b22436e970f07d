package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/identity"
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

// A topic that leaves the metadata without a recorded delete (removed
// from the store behind the cluster's back) stops being served, but its
// data stays, and comes back when the topic does.
func TestNodeKeepsDataOfATopicRemovedWithoutRecordedDelete(t *testing.T) {
	h := newHarness(t)
	h.createTopic("orders", 1, nil)
	if r := h.produce("orders", 0, "a"); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("produce: %v", r.ErrorCode)
	}
	ctx := context.Background()
	kv, err := h.store.Get(ctx, metadata.TopicKey("orders"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.store.Delete(ctx, kv.Key, kv.Version); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() error {
		if got := h.kept.get(); got != 1 {
			return fmt.Errorf("kept dirs gauge %v", got)
		}
		return nil
	})
	dir := filepath.Join(h.dataDir, "orders-0")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("data of a topic removed without a recorded delete is gone: %v", err)
	}
	// The topic restored as it was (same id): served again, records intact.
	if _, err := h.store.CAS(ctx, kv.Key, kv.Value, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() error {
		if r := h.produceVia(h.pid, "orders", 0, "b"); r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != 1 {
			return fmt.Errorf("produce after restore: %v base %d", r.ErrorCode, r.BaseOffset)
		}
		return nil
	})
	if got := h.kept.get(); got != 0 {
		t.Fatalf("kept dirs gauge %v after the topic came back, want 0", got)
	}
}

// A topic deleted by DeleteTopic has its delete recorded; a new topic of
// the same name is not hosted over a kept directory of an incarnation
// whose delete is not recorded.
func TestNodeDeleteIsRecorded(t *testing.T) {
	h := newHarness(t)
	h.createTopic("orders", 1, nil)
	topic, err := metadata.GetTopic(context.Background(), h.store, "orders")
	if err != nil {
		t.Fatal(err)
	}
	del := request[*messages.DeleteTopicResponse](h, h.pid, &messages.DeleteTopicRequest{Name: "orders"})
	if del.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("delete: %v %s", del.ErrorCode, del.ErrorMessage)
	}
	snap, err := metadata.Load(context.Background(), h.store)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := snap.DeletedTopics[topic.ID]; !ok || d.Name != "orders" {
		t.Fatalf("no delete record for %s: %v", topic.ID, snap.DeletedTopics)
	}
}

// Every hosted replica records its topic in its directory, for
// --recover-metadata; a config change is recorded too.
func TestNodeRecordsPartitionMetadata(t *testing.T) {
	h := newHarness(t)
	h.createTopic("orders", 2, nil)
	topic, err := metadata.GetTopic(context.Background(), h.store, "orders")
	if err != nil {
		t.Fatal(err)
	}
	alter := request[*messages.AlterConfigsResponse](h, h.pid, &messages.AlterConfigsRequest{
		Topic: "orders", Set: map[string]string{"retention.ms": "60000"},
	})
	if alter.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("alter: %v", alter.ErrorCode)
	}
	for p := range 2 {
		dir := filepath.Join(h.dataDir, fmt.Sprintf("orders-%d", p))
		waitFor(t, func() error {
			got, err := identity.ReadPartition(dir)
			if err != nil {
				return err
			}
			if got.ID != topic.ID || got.Partitions() != 2 || got.Configs["retention.ms"] != "60000" {
				return fmt.Errorf("recorded %+v", got)
			}
			return nil
		})
	}
}

// A deleted topic's replica directory is renamed <dir>.<topic id>-delete
// and kept for the delete delay; a leftover found at start is removed once
// that delay has passed.
func TestNodeDeleteRenamesThenRemovesAfterDelay(t *testing.T) {
	h := newHarness(t)
	h.createTopic("orders", 1, nil)
	if r := h.produce("orders", 0, "a"); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("produce: %v", r.ErrorCode)
	}
	topic, err := metadata.GetTopic(context.Background(), h.store, "orders")
	if err != nil {
		t.Fatal(err)
	}
	del := request[*messages.DeleteTopicResponse](h, h.pid, &messages.DeleteTopicRequest{Name: "orders"})
	if del.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("delete: %v", del.ErrorCode)
	}
	dir := filepath.Join(h.dataDir, "orders-0")
	renamed := dir + "." + topic.ID + "-delete"
	waitFor(t, func() error {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s still there: %v", dir, err)
		}
		if logs, _ := filepath.Glob(filepath.Join(renamed, "*.log")); len(logs) == 0 {
			return fmt.Errorf("no log in %s", renamed)
		}
		return nil
	})
	// Within the (default, one minute) delay the data can be restored by
	// hand; after a restart with a short delay the leftover goes.
	h.stop()
	h.deleteDelay = 50 * time.Millisecond
	h.start()
	waitFor(t, func() error {
		if _, err := os.Stat(renamed); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s still there: %v", renamed, err)
		}
		return nil
	})
}

// A topic deleted while the node was down: its directory is marked
// deleted at start (recorded delete), and a new topic of the same name is
// hosted once the old data is out of the way.
func TestNodeStartMarksDirsOfTopicsDeletedWhileDown(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.createTopic("orders", 1, nil)
	h.produce("orders", 0, "old")
	old, err := metadata.GetTopic(ctx, h.store, "orders")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(h.dataDir, "orders-0")
	waitFor(t, func() error { _, err := identity.ReadPartition(dir); return err })
	h.stop()
	if err := metadata.DeleteTopic(ctx, h.store, "orders"); err != nil {
		t.Fatal(err)
	}
	if err := metadata.CreateTopic(ctx, h.store, metadata.Topic{Name: "orders", Replicas: [][]int32{{1}}}, nil); err != nil {
		t.Fatal(err)
	}
	h.start()
	waitFor(t, func() error {
		if r := h.produceVia(h.pid, "orders", 0, "new"); r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != 0 {
			return fmt.Errorf("produce to the new topic: %v base %d", r.ErrorCode, r.BaseOffset)
		}
		return nil
	})
	if _, err := os.Stat(dir + "." + old.ID + "-delete"); err != nil {
		t.Fatalf("old data not marked deleted: %v", err)
	}
}

// A topic replaced behind the cluster's back (its key removed without a
// delete record, a new one created): the old data is kept and the new
// topic is not hosted over it.
func TestNodeStartKeepsAnotherIncarnationWithoutRecordedDelete(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.createTopic("orders", 1, nil)
	h.produce("orders", 0, "old")
	dir := filepath.Join(h.dataDir, "orders-0")
	waitFor(t, func() error { _, err := identity.ReadPartition(dir); return err })
	h.stop()
	kv, err := h.store.Get(ctx, metadata.TopicKey("orders"))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.store.Delete(ctx, kv.Key, kv.Version); err != nil {
		t.Fatal(err)
	}
	if err := metadata.CreateTopic(ctx, h.store, metadata.Topic{Name: "orders", Replicas: [][]int32{{1}}}, nil); err != nil {
		t.Fatal(err)
	}
	h.start()
	if got := h.kept.get(); got != 1 {
		t.Fatalf("kept dirs gauge %v, want 1", got)
	}
	r := h.produceVia(h.pid, "orders", 0, "new")
	if r.ErrorCode == messages.ErrorCode_NONE {
		t.Fatalf("the new topic was hosted over the old one's data (offset %d)", r.BaseOffset)
	}
	if logs, _ := filepath.Glob(filepath.Join(dir, "*.log")); len(logs) == 0 {
		t.Fatal("the old data is gone")
	}
}
