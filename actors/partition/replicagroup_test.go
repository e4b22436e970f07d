package partition

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/replication"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

const waitTimeout = 15 * time.Second

// replicaGroup runs the replicas of one partition, one per node id, in
// one actor system. Each gets its own name and directory; Peer maps a
// node id to the local PID of that node's replica.
type replicaGroup struct {
	t      *testing.T
	system *actor.ActorSystem
	store  cluster.Store
	base   Config
	ids    []int32
	dirs   map[int32]string
	pids   map[int32]*actor.PID // running replicas

	mu   sync.Mutex
	gone map[int32]bool // nodes Peer reports as not live members
	// goneLookups counts, by node, the Peer calls that found it gone.
	goneLookups map[int32]int
}

func newReplicaGroup(t *testing.T, ids []int32, store cluster.Store, mutate func(*Config)) *replicaGroup {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	base := Config{
		Topic:       "orders",
		Partition:   0,
		TopicConfig: metadata.DefaultTopicConfig(),
		Logger:      quiet,
		Store:       store,
		Replication: replication.Config{RetryInterval: 50 * time.Millisecond},
	}
	if mutate != nil {
		mutate(&base)
	}
	g := &replicaGroup{
		t:      t,
		system: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet })),
		store:  store,
		base:   base,
		ids:    ids,
		dirs:   make(map[int32]string),
		pids:   make(map[int32]*actor.PID),
	}
	root := t.TempDir()
	for _, id := range ids {
		g.dirs[id] = filepath.Join(root, fmt.Sprintf("node%d", id), "orders-0")
	}
	t.Cleanup(func() {
		for _, id := range ids {
			g.stop(id)
		}
	})
	return g
}

func (g *replicaGroup) name(id int32) string {
	return fmt.Sprintf("n%d/%s", id, messages.ReplicaActorName(g.base.Topic, g.base.Partition))
}

func (g *replicaGroup) peer(id int32) *actor.PID {
	g.mu.Lock()
	gone := g.gone[id]
	if gone {
		if g.goneLookups == nil {
			g.goneLookups = make(map[int32]int)
		}
		g.goneLookups[id]++
	}
	g.mu.Unlock()
	if _, ok := g.dirs[id]; !ok || gone {
		return nil
	}
	return actor.NewPID(g.system.Address(), g.name(id))
}

// start spawns node id's replica in state.
func (g *replicaGroup) start(id int32, state State) {
	g.t.Helper()
	cfg := g.base
	cfg.NodeID = id
	cfg.Dir = g.dirs[id]
	cfg.Peer = g.peer
	pid, err := g.system.Root.SpawnNamed(Props(cfg, state), g.name(id))
	if err != nil {
		g.t.Fatal(err)
	}
	g.pids[id] = pid
}

func (g *replicaGroup) startAll(state State) {
	for _, id := range g.ids {
		g.start(id, state)
	}
}

func (g *replicaGroup) stop(id int32) {
	if pid := g.pids[id]; pid != nil {
		if err := g.system.Root.PoisonFuture(pid).Wait(); err != nil {
			g.t.Errorf("stop replica %d: %v", id, err)
		}
		delete(g.pids, id)
	}
}

// writeLog appends batches in leader epoch to node id's log before its
// replica starts.
func (g *replicaGroup) writeLog(id, epoch int32, batches ...[]byte) {
	g.t.Helper()
	l, err := commitlog.Open(g.dirs[id], commitlog.DefaultConfig())
	if err != nil {
		g.t.Fatal(err)
	}
	for _, b := range batches {
		if _, err := l.Append(bytes.Clone(b), epoch); err != nil {
			g.t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		g.t.Fatal(err)
	}
}

// setGone makes Peer report node id as a live member or not.
func (g *replicaGroup) setGone(id int32, gone bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gone == nil {
		g.gone = make(map[int32]bool)
	}
	g.gone[id] = gone
}

// goneLookupCount is how often the replicas asked Peer for node id while
// it was gone: each ask is a replica about to push to it or to add it to
// the ISR, finding it not a live member.
func (g *replicaGroup) goneLookupCount(id int32) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.goneLookups[id]
}

func (g *replicaGroup) update(id int32, state State) {
	g.system.Root.Send(g.pids[id], &UpdateState{State: state})
}

func groupRequest[T any](g *replicaGroup, id int32, msg any) T {
	g.t.Helper()
	res, err := g.system.Root.RequestFuture(g.pids[id], msg, requestTimeout).Result()
	if err != nil {
		g.t.Fatalf("request %T to %d: %v", msg, id, err)
	}
	out, ok := res.(T)
	if !ok {
		g.t.Fatalf("request %T to %d: got %T", msg, id, res)
	}
	return out
}

func (g *replicaGroup) produce(id int32, records []byte, acks, timeoutMs int32) *messages.ProduceResponse {
	g.t.Helper()
	return groupRequest[*messages.ProduceResponse](g, id, &messages.ProduceRequest{
		Topic: g.base.Topic, Acks: acks, TimeoutMs: timeoutMs, Records: records, LeaderEpoch: -1,
	})
}

func (g *replicaGroup) fetch(id int32, offset int64, minBytes, maxWaitMs int32) *messages.FetchResponse {
	g.t.Helper()
	return groupRequest[*messages.FetchResponse](g, id, &messages.FetchRequest{
		Topic: g.base.Topic, Offset: offset, MaxBytes: 1 << 20, MinBytes: minBytes, MaxWaitMs: maxWaitMs, LeaderEpoch: -1,
	})
}

func (g *replicaGroup) status(id int32) *messages.PartitionStatusResponse {
	g.t.Helper()
	return groupRequest[*messages.PartitionStatusResponse](g, id, &messages.PartitionStatusRequest{Topic: g.base.Topic})
}

// waitCaughtUp waits until every running follower's log end offset and
// high watermark equal the leader's.
func (g *replicaGroup) waitCaughtUp(leader int32) {
	g.t.Helper()
	waitFor(g.t, waitTimeout, func() error {
		want := g.status(leader)
		if want.HighWatermark != want.LogEndOffset {
			return fmt.Errorf("leader hw %d leo %d", want.HighWatermark, want.LogEndOffset)
		}
		for id := range g.pids {
			st := g.status(id)
			if st.LogEndOffset != want.LogEndOffset || st.HighWatermark != want.HighWatermark {
				return fmt.Errorf("node %d leo %d hw %d, leader leo %d hw %d", id, st.LogEndOffset, st.HighWatermark, want.LogEndOffset, want.HighWatermark)
			}
		}
		return nil
	})
}

// logContents opens a stopped replica's log and returns all its bytes and
// its leader-epoch cache.
func (g *replicaGroup) logContents(id int32) ([]byte, string) {
	g.t.Helper()
	l, err := commitlog.Open(g.dirs[id], commitlog.DefaultConfig())
	if err != nil {
		g.t.Fatal(err)
	}
	defer l.Close()
	var all []byte
	for off := l.LogStartOffset(); off < l.LogEndOffset(); {
		b, err := l.Read(off, 1<<20, math.MaxInt64)
		if err != nil {
			g.t.Fatal(err)
		}
		_, end, ok := batchRange(b)
		if !ok {
			g.t.Fatalf("node %d: unreadable batches at %d", id, off)
		}
		all, off = append(all, b...), end
	}
	return all, fmt.Sprint(l.EpochEntries())
}

// sameLogs stops every replica and checks that their logs are
// byte-identical, leader-epoch caches included; it returns the records.
func (g *replicaGroup) sameLogs() []byte {
	g.t.Helper()
	for _, id := range g.ids {
		g.stop(id)
	}
	want, wantEpochs := g.logContents(g.ids[0])
	for _, id := range g.ids[1:] {
		got, epochs := g.logContents(id)
		if !bytes.Equal(got, want) {
			g.t.Fatalf("node %d log (%d bytes) differs from node %d's (%d bytes)", id, len(got), g.ids[0], len(want))
		}
		if epochs != wantEpochs {
			g.t.Fatalf("node %d epochs %s, node %d's %s", id, epochs, g.ids[0], wantEpochs)
		}
	}
	return want
}

func storedISR(t *testing.T, store cluster.Store) []int32 {
	t.Helper()
	st, err := metadata.GetPartitionState(context.Background(), store, "orders", 0)
	if err != nil {
		t.Fatal(err)
	}
	isr := slices.Clone(st.ISR)
	slices.Sort(isr)
	return isr
}
