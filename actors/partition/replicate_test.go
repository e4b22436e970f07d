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
	"github.com/sluice-mq/sluice/cluster/local"
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

func TestReplicaReplicatesToFollowers(t *testing.T) {
	for _, policy := range []metadata.FlushPolicy{metadata.FlushNever, metadata.FlushInterval, metadata.FlushAlways} {
		t.Run(string(policy), func(t *testing.T) { testReplicaReplicates(t, policy) })
	}
}

func testReplicaReplicates(t *testing.T, policy metadata.FlushPolicy) {
	g := newReplicaGroup(t, []int32{1, 2, 3}, nil, func(c *Config) { c.TopicConfig.FlushPolicy = policy })
	g.startAll(State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}})

	for i := range 20 {
		acks := int32(-1)
		if i%2 == 1 {
			acks = 1
		}
		resp := g.produce(1, encode(t, int64(i), fmt.Sprintf("v%d", i), "x"), acks, 0)
		wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
		if acks != -1 {
			continue
		}
		// acks=all answers only once every in-sync follower has the
		// records.
		for _, id := range []int32{2, 3} {
			if st := g.status(id); st.LogEndOffset < resp.BaseOffset+2 {
				t.Fatalf("acks=all answered at offset %d while node %d ends at %d", resp.BaseOffset, id, st.LogEndOffset)
			}
		}
	}
	g.waitCaughtUp(1)

	// A long-poll fetch at the end is woken when the next append reaches
	// the followers.
	end := g.status(1).LogEndOffset
	fetched := make(chan *messages.FetchResponse, 1)
	go func() {
		res, err := g.system.Root.RequestFuture(g.pids[1], &messages.FetchRequest{
			Topic: "orders", Offset: end, MaxBytes: 1 << 20, MinBytes: 1, MaxWaitMs: 60_000, LeaderEpoch: -1,
		}, requestTimeout).Result()
		if err != nil {
			fetched <- &messages.FetchResponse{ErrorCode: messages.ErrorCode_REQUEST_TIMED_OUT, ErrorMessage: err.Error()}
			return
		}
		fetched <- res.(*messages.FetchResponse)
	}()
	waitFor(t, waitTimeout, func() error {
		// The fetch is parked once a status sent after it is answered.
		if st := g.status(1); st.LogEndOffset != end {
			return fmt.Errorf("leo %d", st.LogEndOffset)
		}
		return nil
	})
	wantCode(t, g.produce(1, encode(t, 50, "late"), 1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	f := <-fetched
	wantCode(t, f.ErrorCode, messages.ErrorCode_NONE, f.ErrorMessage)
	if got := values(t, f.Records); fmt.Sprint(got) != fmt.Sprintf("[%d:late]", end) {
		t.Fatalf("long poll got %v", got)
	}

	// Followers serve no clients.
	wantCode(t, g.produce(2, encode(t, 1, "no"), 1, 0).ErrorCode, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, "")
	wantCode(t, g.fetch(3, 0, 0, 0).ErrorCode, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, "")

	g.waitCaughtUp(1)
	if got := values(t, g.sameLogs()); len(got) != 41 {
		t.Fatalf("%d records replicated, want 41", len(got))
	}
}

func TestReplicaISRShrinkExpandAndMinInsync(t *testing.T) {
	store := local.OpenMemory()
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	if _, err := metadata.CASPartitionState(ctx, store, "orders", 0,
		metadata.PartitionState{Leader: 1, LeaderEpoch: 0, ISR: []int32{1, 2, 3}}, 0); err != nil {
		t.Fatal(err)
	}
	g := newReplicaGroup(t, []int32{1, 2, 3}, store, func(c *Config) {
		c.TopicConfig.MinInsyncReplicas = 2
		c.Replication.ReplicaLagTime = 300 * time.Millisecond
	})
	state := State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}}
	g.startAll(state)
	wantCode(t, g.produce(1, encode(t, 1, "a"), -1, 0).ErrorCode, messages.ErrorCode_NONE, "")

	// A stopped follower leaves the ISR; acks=all waits for that, then
	// completes with the two replicas left.
	g.stop(3)
	resp := g.produce(1, encode(t, 2, "b"), -1, 60_000)
	wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
	if isr := storedISR(t, store); !slices.Equal(isr, []int32{1, 2}) {
		t.Fatalf("stored ISR %v, want [1 2]", isr)
	}

	// With one more down the ISR falls below min.insync.replicas=2.
	g.stop(2)
	wantCode(t, g.produce(1, encode(t, 3, "c"), 1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	waitFor(t, waitTimeout, func() error {
		if isr := storedISR(t, store); !slices.Equal(isr, []int32{1}) {
			return fmt.Errorf("stored ISR %v", isr)
		}
		return nil
	})
	waitFor(t, waitTimeout, func() error {
		// The leader learns the write's outcome by message: retry until
		// it has.
		if r := g.produce(1, encode(t, 4, "d"), -1, 0); r.ErrorCode != messages.ErrorCode_NOT_ENOUGH_REPLICAS {
			return fmt.Errorf("acks=all with ISR [1]: %v %s", r.ErrorCode, r.ErrorMessage)
		}
		return nil
	})
	// acks=1 still works.
	wantCode(t, g.produce(1, encode(t, 5, "e"), 1, 0).ErrorCode, messages.ErrorCode_NONE, "")

	// Restarted followers catch up from their logs and rejoin the ISR.
	g.start(2, state)
	g.start(3, state)
	waitFor(t, waitTimeout, func() error {
		if isr := storedISR(t, store); !slices.Equal(isr, []int32{1, 2, 3}) {
			return fmt.Errorf("stored ISR %v", isr)
		}
		return nil
	})
	waitFor(t, waitTimeout, func() error {
		if r := g.produce(1, encode(t, 6, "f"), -1, 0); r.ErrorCode != messages.ErrorCode_NONE {
			return fmt.Errorf("acks=all after rejoin: %v %s", r.ErrorCode, r.ErrorMessage)
		}
		return nil
	})
	g.waitCaughtUp(1)
	records := g.sameLogs()
	if got := values(t, records); got[0] != "0:a" || got[len(got)-1] != fmt.Sprintf("%d:f", len(got)-1) {
		t.Fatalf("replicated %v", got)
	}
}

func TestReplicaDivergentFollowerTruncates(t *testing.T) {
	g := newReplicaGroup(t, []int32{1, 2}, nil, nil)
	common := [][]byte{encode(t, 1, "a", "b"), encode(t, 2, "c")}
	g.writeLog(1, 0, common...)
	// Node 2 led epoch 0 a little longer: its tail never reached node 1.
	g.writeLog(2, 0, append(common, encode(t, 3, "x"), encode(t, 4, "y", "z"))...)

	g.startAll(State{Leader: 1, LeaderEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	resp := g.produce(1, encode(t, 5, "d"), -1, 0)
	wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
	if resp.BaseOffset != 3 {
		t.Fatalf("base offset %d, want 3", resp.BaseOffset)
	}
	g.waitCaughtUp(1)
	if got := fmt.Sprint(values(t, g.sameLogs())); got != "[0:a 1:b 2:c 3:d]" {
		t.Fatalf("logs hold %s", got)
	}
}

func TestReplicaStaleLeaderCannotCommit(t *testing.T) {
	g := newReplicaGroup(t, []int32{1, 2, 3}, nil, nil)
	old := State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}}
	g.startAll(old)
	wantCode(t, g.produce(1, encode(t, 1, "a"), -1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	g.waitCaughtUp(1)

	// Node 2 takes over in epoch 1; node 1 has not heard of it yet.
	next := State{Leader: 2, LeaderEpoch: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}}
	g.update(2, next)
	g.update(3, next)
	waitFor(t, waitTimeout, func() error {
		if st := g.status(2); !st.Leader || st.LeaderEpoch != 1 {
			return fmt.Errorf("node 2 status %+v", st)
		}
		return nil
	})
	stale := g.produce(1, encode(t, 2, "stale"), -1, 300)
	if stale.ErrorCode == messages.ErrorCode_NONE {
		t.Fatal("a leader of an old epoch completed an acks=all produce")
	}
	if f := g.fetch(1, 1, 0, 0); f.HighWatermark != 1 || len(f.Records) != 0 {
		t.Fatalf("stale leader hw %d, %d bytes readable", f.HighWatermark, len(f.Records))
	}

	// Told about epoch 1, node 1 resigns: its waiting acks=all produce
	// fails; it follows node 2 and drops its stale tail.
	waiting := g.system.Root.RequestFuture(g.pids[1], &messages.ProduceRequest{
		Topic: "orders", Acks: -1, TimeoutMs: 600_000, Records: encode(t, 3, "stale2"), LeaderEpoch: -1,
	}, requestTimeout)
	g.update(1, next)
	res, err := waiting.Result()
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, res.(*messages.ProduceResponse).ErrorCode, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, "")
	resp := g.produce(2, encode(t, 3, "b"), -1, 0)
	wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
	g.waitCaughtUp(2)
	if got := fmt.Sprint(values(t, g.sameLogs())); got != "[0:a 1:b]" {
		t.Fatalf("logs hold %s", got)
	}
}

func TestReplicaLeaderKeepsDeadFollowerOutOfISR(t *testing.T) {
	store := local.OpenMemory()
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	version, err := metadata.CASPartitionState(ctx, store, "orders", 0,
		metadata.PartitionState{Leader: 1, LeaderEpoch: 0, ISR: []int32{1, 2, 3}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	g := newReplicaGroup(t, []int32{1, 2, 3}, store, nil)
	state := State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}, Version: version}
	g.startAll(state)
	wantCode(t, g.produce(1, encode(t, 1, "a"), -1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	g.waitCaughtUp(1)

	// Node 3 dies; the controller drops it from the ISR. The leader last
	// saw it caught up, but must not add it back while it is gone.
	g.stop(3)
	g.setGone(3, true)
	version, err = metadata.CASPartitionState(ctx, store, "orders", 0,
		metadata.PartitionState{Leader: 1, LeaderEpoch: 0, ISR: []int32{1, 2}}, version)
	if err != nil {
		t.Fatal(err)
	}
	shrunk := state
	shrunk.ISR, shrunk.Version = []int32{1, 2}, version
	g.update(1, shrunk)
	time.Sleep(20 * g.base.Replication.RetryInterval) // many ticks
	if isr := storedISR(t, store); !slices.Equal(isr, []int32{1, 2}) {
		t.Fatalf("stored ISR %v while node 3 is gone, want [1 2]", isr)
	}
	wantCode(t, g.produce(1, encode(t, 2, "b"), -1, 0).ErrorCode, messages.ErrorCode_NONE, "")

	// Back, it catches up and rejoins.
	g.setGone(3, false)
	g.start(3, shrunk)
	waitFor(t, waitTimeout, func() error {
		if isr := storedISR(t, store); !slices.Equal(isr, []int32{1, 2, 3}) {
			return fmt.Errorf("stored ISR %v", isr)
		}
		return nil
	})
	g.waitCaughtUp(1)
	g.sameLogs()
}

func TestReplicaMinInsyncFollowsTopicConfig(t *testing.T) {
	g := newReplicaGroup(t, []int32{1}, nil, func(c *Config) { c.TopicConfig.MinInsyncReplicas = 2 })
	g.startAll(State{Leader: 1, Replicas: []int32{1}, ISR: []int32{1}})
	r := g.produce(1, encode(t, 1, "a"), -1, 0)
	wantCode(t, r.ErrorCode, messages.ErrorCode_NOT_ENOUGH_REPLICAS, r.ErrorMessage)
	wantCode(t, g.produce(1, encode(t, 1, "b"), 1, 0).ErrorCode, messages.ErrorCode_NONE, "")

	cfg := g.base.TopicConfig
	cfg.MinInsyncReplicas = 1
	g.system.Root.Send(g.pids[1], &UpdateConfig{TopicConfig: cfg})
	r = g.produce(1, encode(t, 1, "c"), -1, 0)
	wantCode(t, r.ErrorCode, messages.ErrorCode_NONE, r.ErrorMessage)
	if got := fmt.Sprint(values(t, g.fetch(1, 0, 0, 0).Records)); got != "[0:b 1:c]" {
		t.Fatalf("fetched %s", got)
	}
}

func TestReplicaRefusesForeignReplication(t *testing.T) {
	g := newReplicaGroup(t, []int32{1, 2}, nil, nil)
	// Node 2 has a log from epoch 3 and cannot reach its leader: it stays
	// in the truncation handshake.
	g.writeLog(2, 3, encode(t, 1, "a"))
	g.setGone(1, true)
	g.start(1, State{Leader: 1, LeaderEpoch: 5, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	g.start(2, State{Leader: 1, LeaderEpoch: 5, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	push := func(to, epoch, leader int32) *messages.ReplicateResponse {
		return groupRequest[*messages.ReplicateResponse](g, to, &messages.ReplicateRequest{
			Topic: "orders", LeaderEpoch: epoch, LeaderId: leader, Seq: 7,
		})
	}
	for _, c := range []struct {
		name              string
		to, epoch, leader int32
		want              messages.ErrorCode
	}{
		{"follower, older epoch", 2, 4, 1, messages.ErrorCode_FENCED_LEADER_EPOCH},
		{"follower, newer epoch", 2, 6, 1, messages.ErrorCode_UNKNOWN_LEADER_EPOCH},
		{"follower, another leader", 2, 5, 3, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER},
		{"follower, before truncation", 2, 5, 1, messages.ErrorCode_REPLICA_NOT_AVAILABLE},
		{"leader, older epoch", 1, 4, 2, messages.ErrorCode_FENCED_LEADER_EPOCH},
		{"leader, same epoch", 1, 5, 2, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER},
	} {
		resp := push(c.to, c.epoch, c.leader)
		if resp.ErrorCode != c.want || resp.Seq != 7 || resp.FollowerId != c.to {
			t.Fatalf("%s: %v seq %d follower %d, want %v seq 7 follower %d", c.name, resp.ErrorCode, resp.Seq, resp.FollowerId, c.want, c.to)
		}
	}
	query := func(to, epoch int32) *messages.OffsetsForLeaderEpochResponse {
		return groupRequest[*messages.OffsetsForLeaderEpochResponse](g, to, &messages.OffsetsForLeaderEpochRequest{
			Topic: "orders", LeaderEpoch: epoch, RequestedEpoch: epoch, ReplicaId: 2,
		})
	}
	wantCode(t, query(2, 5).ErrorCode, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, "follower answering an epoch query")
	wantCode(t, query(1, 4).ErrorCode, messages.ErrorCode_FENCED_LEADER_EPOCH, "query with an older epoch")
	if r := query(1, 5); r.ErrorCode != messages.ErrorCode_NONE || r.LeaderEpoch != 5 || r.EndOffset != 0 {
		t.Fatalf("epoch query: %v epoch %d end %d, want epoch 5 ending at 0", r.ErrorCode, r.LeaderEpoch, r.EndOffset)
	}
}
