package recovery

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster/identity"
	"github.com/sluice-mq/sluice/cluster/local"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/cluster/producerid"
	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/commitlog"
	"github.com/sluice-mq/sluice/storage/producerstate"
	"github.com/sluice-mq/sluice/storage/vfs"
)

var orders = metadata.Topic{Name: "orders", ID: "0123456789abcdef", Replicas: [][]int32{{1, 2}, {2, 1}},
	Configs: map[string]string{"retention.ms": "3600000"}}

// replicaDir writes a replica of orders/p in a node's data dir: records
// appended in each epoch of epochs, and the recorded topic.
func replicaDir(t *testing.T, dataDir string, p int32, epochs ...int32) {
	t.Helper()
	dir := filepath.Join(dataDir, "orders-"+string(rune('0'+p)))
	l, err := commitlog.Open(dir, commitlog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range epochs {
		b, err := batch.Encode([]batch.Record{{Timestamp: time.Now().UnixMilli(), Value: []byte("v")}}, batch.DefaultEncodeOptions())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(b, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := identity.WritePartition(dir, orders); err != nil {
		t.Fatal(err)
	}
}

func TestRecoverPicksTheBestReplicaAsNodesComeUp(t *testing.T) {
	ctx := context.Background()
	st := local.OpenMemory()
	defer st.Close()
	quiet := slog.New(slog.DiscardHandler)
	n1, n2 := t.TempDir(), t.TempDir()
	// Partition 0: node 1 has two records of epoch 3, node 2 three (more).
	// Partition 1: node 2 stopped in epoch 3, node 1 got to epoch 4 first.
	replicaDir(t, n1, 0, 3, 3)
	replicaDir(t, n2, 0, 3, 3, 3)
	replicaDir(t, n1, 1, 3, 4)
	replicaDir(t, n2, 1, 3, 3, 3)
	id1 := identity.Identity{ClusterID: "c1", NodeID: 1}
	id2 := identity.Identity{ClusterID: "c1", NodeID: 2}

	rep, err := Recover(ctx, st, n1, id1, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.TopicsCreated) != 1 || len(rep.Led) != 2 {
		t.Fatalf("node 1 report %+v", rep)
	}
	if _, err := Recover(ctx, st, n2, id2, quiet); err != nil {
		t.Fatal(err)
	}
	snap, err := metadata.Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if snap.ClusterID != "c1" {
		t.Fatalf("cluster id %q", snap.ClusterID)
	}
	got := snap.Topics["orders"]
	if got.ID != orders.ID || got.Configs["retention.ms"] != "3600000" || got.Partitions() != 2 {
		t.Fatalf("recovered topic %+v", got)
	}
	for p, want := range map[int32]int32{0: 2, 1: 1} {
		s, ok := snap.State("orders", p)
		if !ok || s.Leader != want || s.LeaderEpoch <= 4 || len(s.ISR) != 1 || s.ISR[0] != want {
			t.Errorf("partition %d state %+v (ok %v), want leader %d in an epoch above 4", p, s, ok, want)
		}
	}
	// The same step again changes nothing.
	if _, err := Recover(ctx, st, n1, id1, quiet); err != nil {
		t.Fatal(err)
	}
	again, _ := metadata.Load(ctx, st)
	if s, _ := again.State("orders", 0); s.Leader != 2 {
		t.Fatalf("re-running recovery on node 1 took partition 0: %+v", s)
	}
}

func TestRecoverRefusesAnotherCluster(t *testing.T) {
	ctx := context.Background()
	st := local.OpenMemory()
	defer st.Close()
	if _, err := metadata.EnsureClusterID(ctx, st); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	replicaDir(t, dir, 0, 1)
	_, err := Recover(ctx, st, dir, identity.Identity{ClusterID: "mine", NodeID: 1}, slog.New(slog.DiscardHandler))
	if !errors.Is(err, ErrOtherCluster) {
		t.Fatalf("recover into another cluster's store: %v", err)
	}
	if topics, _ := metadata.ListTopics(ctx, st); len(topics) != 0 {
		t.Fatalf("topics written into another cluster: %v", topics)
	}
}

func TestRecoverSkipsDirsWithoutRecordedTopic(t *testing.T) {
	ctx := context.Background()
	st := local.OpenMemory()
	defer st.Close()
	dir := t.TempDir()
	l, err := commitlog.Open(filepath.Join(dir, "bare-0"), commitlog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Recover(ctx, st, dir, identity.Identity{ClusterID: "c", NodeID: 1}, slog.New(slog.DiscardHandler))
	if err != nil || len(rep.Skipped) != 1 || len(rep.TopicsCreated) != 0 {
		t.Fatalf("report %+v, %v", rep, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bare-0")); err != nil {
		t.Fatal(err)
	}
}

// TestRecoverRaisesProducerIDs: a rebuilt store hands out producer ids
// above those in the replicas' producer state snapshots and above a
// clock-based floor, never ids producers may still hold.
func TestRecoverRaisesProducerIDs(t *testing.T) {
	ctx := context.Background()
	st := local.OpenMemory()
	defer st.Close()
	n1 := t.TempDir()
	replicaDir(t, n1, 0, 1)
	held := int64(1) << 60
	entries := []producerstate.Entry{{ProducerID: 7, Epoch: 0, CoordinatorEpoch: -1, TxnFirstOffset: -1}, {ProducerID: held, Epoch: 3, CoordinatorEpoch: -1, TxnFirstOffset: -1}}
	if err := producerstate.WriteSnapshot(vfs.OS{}, filepath.Join(n1, "orders-0"), 1, entries); err != nil {
		t.Fatal(err)
	}
	before := time.Now().UnixMilli() * producerid.DefaultBlockSize
	rep, err := Recover(ctx, st, n1, identity.Identity{ClusterID: "c1", NodeID: 1}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	b, err := producerid.Claim(ctx, st, 1, producerid.DefaultBlockSize)
	if err != nil {
		t.Fatal(err)
	}
	if b.Start <= held || rep.ProducerIDFloor <= held {
		t.Fatalf("first block after recovery %+v (floor %d), want above the held id %d", b, rep.ProducerIDFloor, held)
	}

	// Without snapshots the floor is the clock's.
	st2 := local.OpenMemory()
	defer st2.Close()
	n2 := t.TempDir()
	replicaDir(t, n2, 0, 1)
	rep, err = Recover(ctx, st2, n2, identity.Identity{ClusterID: "c1", NodeID: 2}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := producerid.Claim(ctx, st2, 2, 10); err != nil || b.Start < before {
		t.Fatalf("first block %+v, %v; want at or above the clock floor %d", b, err, before)
	}
}
