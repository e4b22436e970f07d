package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/local"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/commitlog"
	"github.com/sluice-mq/sluice/storage/vfs"
)

const requestTimeout = 10 * time.Second

type harness struct {
	t       *testing.T
	system  *actor.ActorSystem
	store   *local.Store
	members *local.Membership
	dataDir string
	pid     *actor.PID
	kept    *gauge
	// deleteDelay is Config.FileDeleteDelay of the next start.
	deleteDelay time.Duration
	// blockSize is Config.ProducerIDBlockSize of the next start; wrap,
	// when set, wraps the store the next start hands the node.
	blockSize int64
	wrap      func(cluster.Store) cluster.Store
	// logFS and logDirs are Config.LogFS and Config.LogDirs.
	logFS   vfs.FS
	logDirs *LogDirs
}

// newHarness runs a node guardian in-process over a file store in a
// temporary data dir, as node 1 and its own controller.
func newHarness(t *testing.T, opts ...func(*harness)) *harness {
	t.Helper()
	dataDir := t.TempDir()
	st, err := local.Open(filepath.Join(dataDir, "metadata"))
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	h := &harness{
		t:       t,
		system:  actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet })),
		store:   st,
		members: local.NewMembership(cluster.Member{NodeID: 1, Address: "nonhost"}),
		dataDir: dataDir,
		kept:    &gauge{},
	}
	if err := h.members.Join(context.Background(), cluster.Member{NodeID: 1, Address: "nonhost"}); err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(h)
	}
	h.start()
	t.Cleanup(func() {
		h.stop()
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	return h
}

func (h *harness) start() {
	h.t.Helper()
	snap, err := metadata.Load(context.Background(), h.store)
	if err != nil {
		h.t.Fatal(err)
	}
	var store cluster.Store = h.store
	if h.wrap != nil {
		store = h.wrap(store)
	}
	props := Props(Config{
		Self:          cluster.Member{NodeID: 1, Address: "nonhost"},
		DataDir:       h.dataDir,
		Store:         store,
		Membership:    h.members,
		Initial:       snap,
		TopicDefaults: metadata.DefaultTopicConfig(),
		Logger:        slog.New(slog.DiscardHandler),
		KeptDirs:      h.kept,
		LogFS:         h.logFS,
		LogDirs:       h.logDirs,

		FileDeleteDelay:     h.deleteDelay,
		ProducerIDBlockSize: h.blockSize,
	})
	if h.pid, err = h.system.Root.SpawnNamed(props, messages.NodeActorID); err != nil {
		h.t.Fatal(err)
	}
	waitFor(h.t, func() error {
		if md := request[*messages.MetadataResponse](h, h.pid, &messages.MetadataRequest{}); md.ControllerId != 1 {
			return fmt.Errorf("controller %d", md.ControllerId)
		}
		return nil
	})
}

func (h *harness) stop() {
	if h.pid == nil {
		return
	}
	if err := Drain(h.system, h.pid, requestTimeout); err != nil {
		h.t.Errorf("drain: %v", err)
	}
	if err := h.system.Root.StopFuture(h.pid).Wait(); err != nil {
		h.t.Errorf("stop: %v", err)
	}
	h.pid = nil
}

func request[T any](h *harness, pid *actor.PID, msg any) T {
	h.t.Helper()
	res, err := h.system.Root.RequestFuture(pid, msg, requestTimeout).Result()
	if err != nil {
		h.t.Fatalf("request %T: %v", msg, err)
	}
	out, ok := res.(T)
	if !ok {
		h.t.Fatalf("request %T: got %T", msg, res)
	}
	return out
}

func (h *harness) replica(topic string, p int32) *actor.PID {
	return actor.NewPID(h.system.Address(), messages.ReplicaActorID(topic, p))
}

func (h *harness) createTopic(name string, partitions int32, configs map[string]string) {
	h.t.Helper()
	resp := request[*messages.CreateTopicResponse](h, h.pid, &messages.CreateTopicRequest{
		Name: name, Partitions: partitions, ReplicationFactor: 1, Configs: configs,
	})
	if resp.ErrorCode != messages.ErrorCode_NONE {
		h.t.Fatalf("create %s: %v %s", name, resp.ErrorCode, resp.ErrorMessage)
	}
}

func (h *harness) produce(topic string, p int32, value string) *messages.ProduceResponse {
	h.t.Helper()
	return h.produceVia(h.replica(topic, p), topic, p, value)
}

// produceVia sends the produce to pid: the replica, or the guardian (which
// routes it, or answers for a partition it does not host).
func (h *harness) produceVia(pid *actor.PID, topic string, p int32, value string) *messages.ProduceResponse {
	h.t.Helper()
	b, err := batch.Encode([]batch.Record{{Timestamp: time.Now().UnixMilli(), Value: []byte(value)}}, batch.DefaultEncodeOptions())
	if err != nil {
		h.t.Fatal(err)
	}
	return request[*messages.ProduceResponse](h, pid, &messages.ProduceRequest{
		Topic: topic, Partition: p, Acks: 1, Records: b, LeaderEpoch: -1,
	})
}

func waitFor(t *testing.T, check func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNodeCreateProduceDelete(t *testing.T) {
	h := newHarness(t)
	h.createTopic("orders", 2, nil)
	// The replicas exist as soon as the create is answered.
	for p := range int32(2) {
		if r := h.produce("orders", p, "v"); r.ErrorCode != messages.ErrorCode_NONE {
			t.Fatalf("produce to orders/%d: %v %s", p, r.ErrorCode, r.ErrorMessage)
		}
	}
	// Partition requests sent to the guardian are routed.
	st := request[*messages.PartitionStatusResponse](h, h.pid, &messages.PartitionStatusRequest{Topic: "orders", Partition: 1})
	if st.LogEndOffset != 1 || st.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("status via guardian: %+v", st)
	}
	for _, tt := range []struct {
		topic string
		p     int32
		want  messages.ErrorCode
	}{
		{"nope", 0, messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION},
		{"orders", 7, messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION},
	} {
		f := request[*messages.FetchResponse](h, h.pid, &messages.FetchRequest{Topic: tt.topic, Partition: tt.p})
		if f.ErrorCode != tt.want {
			t.Fatalf("fetch %s/%d via guardian: %v, want %v", tt.topic, tt.p, f.ErrorCode, tt.want)
		}
	}

	// Add partitions: a new replica appears.
	cp := request[*messages.CreatePartitionsResponse](h, h.pid, &messages.CreatePartitionsRequest{Topic: "orders", TotalCount: 3})
	if cp.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("create partitions: %v %s", cp.ErrorCode, cp.ErrorMessage)
	}
	if r := h.produce("orders", 2, "v"); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("produce to new partition: %v", r.ErrorCode)
	}

	del := request[*messages.DeleteTopicResponse](h, h.pid, &messages.DeleteTopicRequest{Name: "orders"})
	if del.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("delete: %v %s", del.ErrorCode, del.ErrorMessage)
	}
	waitFor(t, func() error {
		for p := range 3 {
			if _, err := os.Stat(filepath.Join(h.dataDir, fmt.Sprintf("orders-%d", p))); !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("orders-%d still on disk (%v)", p, err)
			}
		}
		return nil
	})
	// Re-created at once under the same name: fresh, empty partitions.
	h.createTopic("orders", 1, nil)
	waitFor(t, func() error {
		if r := h.produce("orders", 0, "again"); r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != 0 {
			return fmt.Errorf("produce to re-created topic: %v base %d", r.ErrorCode, r.BaseOffset)
		}
		return nil
	})
}

func TestNodeAlterConfigsReachesReplica(t *testing.T) {
	h := newHarness(t)
	h.createTopic("small", 1, map[string]string{"max.message.bytes": "100000"})
	big := string(make([]byte, 50_000))
	if r := h.produce("small", 0, big); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("50 kB produce: %v", r.ErrorCode)
	}
	alter := request[*messages.AlterConfigsResponse](h, h.pid, &messages.AlterConfigsRequest{
		Topic: "small", Set: map[string]string{"max.message.bytes": "10000"},
	})
	if alter.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("alter: %v %s", alter.ErrorCode, alter.ErrorMessage)
	}
	waitFor(t, func() error {
		if r := h.produce("small", 0, big); r.ErrorCode != messages.ErrorCode_MESSAGE_TOO_LARGE {
			return fmt.Errorf("after lowering max.message.bytes: %v", r.ErrorCode)
		}
		return nil
	})
	if r := h.produce("small", 0, "tiny"); r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != 1 {
		t.Fatalf("small produce after reopen: %v base %d", r.ErrorCode, r.BaseOffset)
	}
}

func TestNodeRestartKeepsAndReportsUnknownDirs(t *testing.T) {
	h := newHarness(t)
	h.createTopic("keep", 1, nil)
	h.produce("keep", 0, "a")
	h.stop()
	// A partition directory the metadata does not know, with no recorded
	// delete: kept and reported, never removed.
	unknown := filepath.Join(h.dataDir, "gone-0")
	l, err := commitlog.Open(unknown, commitlog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	unrelated := filepath.Join(h.dataDir, "notes-1")
	if err := os.Mkdir(unrelated, 0o755); err != nil {
		t.Fatal(err)
	}
	h.start()
	if r := h.produce("keep", 0, "b"); r.BaseOffset != 1 {
		t.Fatalf("produce after restart: base %d (%v)", r.BaseOffset, r.ErrorCode)
	}
	for _, dir := range []string{unknown, unrelated} {
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("%s was removed: %v", dir, err)
		}
	}
	if got := h.kept.get(); got != 1 {
		t.Fatalf("kept dirs gauge %v, want 1", got)
	}
}

func TestNodeDrainAnswersParkedFetch(t *testing.T) {
	h := newHarness(t)
	h.createTopic("t", 1, nil)
	parked := h.system.Root.RequestFuture(h.replica("t", 0), &messages.FetchRequest{
		Topic: "t", Offset: 0, MinBytes: 1, MaxWaitMs: 60_000, LeaderEpoch: -1,
	}, requestTimeout)
	// Make sure the fetch is parked before draining.
	request[*messages.PartitionStatusResponse](h, h.replica("t", 0), &messages.PartitionStatusRequest{})
	h.stop()
	res, err := parked.Result()
	if err != nil {
		t.Fatalf("parked fetch during drain: %v", err)
	}
	if f := res.(*messages.FetchResponse); f.ErrorCode != messages.ErrorCode_NONE || len(f.Records) != 0 {
		t.Fatalf("parked fetch answer: %v %d bytes", f.ErrorCode, len(f.Records))
	}
	if _, err := os.Stat(filepath.Join(h.dataDir, "t-0", commitlog.CleanShutdownFile)); err != nil {
		t.Fatalf("no clean-shutdown marker after drain: %v", err)
	}
}

func TestNodeParsePartitionDir(t *testing.T) {
	tests := []struct {
		name string
		tp   metadata.TopicPartition
		ok   bool
	}{
		{"orders-0", metadata.TopicPartition{Topic: "orders", Partition: 0}, true},
		{"my-topic-12", metadata.TopicPartition{Topic: "my-topic", Partition: 12}, true},
		{"metadata", metadata.TopicPartition{}, false},
		{"-3", metadata.TopicPartition{}, false},
		{"orders-x", metadata.TopicPartition{}, false},
		{"orders--1", metadata.TopicPartition{Topic: "orders-", Partition: 1}, true},
	}
	for _, tt := range tests {
		tp, ok := parsePartitionDir(tt.name)
		if ok != tt.ok || (ok && tp != tt.tp) {
			t.Errorf("parsePartitionDir(%q) = %v %v, want %v %v", tt.name, tp, ok, tt.tp, tt.ok)
		}
	}
}

func TestNodeHostsGroupCoordinator(t *testing.T) {
	h := newHarness(t)
	// The first FindCoordinator creates __consumer_offsets; the answer
	// names this node once its replica leads the group's partition.
	waitFor(t, func() error {
		resp := request[*messages.FindCoordinatorResponse](h, h.pid, &messages.FindCoordinatorRequest{GroupId: "g1"})
		if resp.ErrorCode != messages.ErrorCode_NONE || resp.NodeId != 1 {
			return fmt.Errorf("find coordinator: %v %s node %d", resp.ErrorCode, resp.ErrorMessage, resp.NodeId)
		}
		return nil
	})
	waitFor(t, func() error {
		commit := request[*messages.OffsetCommitResponse](h, h.pid, &messages.OffsetCommitRequest{
			GroupId: "g1", GenerationId: -1,
			Topics: []*messages.OffsetCommitTopic{{Name: "orders", Partitions: []*messages.OffsetCommitPartition{{Partition: 0, CommittedOffset: 42, CommittedLeaderEpoch: -1}}}},
		})
		if commit.ErrorCode != messages.ErrorCode_NONE {
			return fmt.Errorf("offset commit: %v %s", commit.ErrorCode, commit.ErrorMessage)
		}
		return nil
	})
	fetched := request[*messages.OffsetFetchResponse](h, h.pid, &messages.OffsetFetchRequest{GroupId: "g1"})
	if fetched.ErrorCode != messages.ErrorCode_NONE || len(fetched.Topics) != 1 ||
		fetched.Topics[0].Partitions[0].CommittedOffset != 42 {
		t.Fatalf("offset fetch: %v %v", fetched.ErrorCode, fetched.Topics)
	}
}

// gauge records the last value set (Config.KeptDirs).
type gauge struct{ v atomic.Uint64 }

func (g *gauge) Set(v float64) { g.v.Store(math.Float64bits(v)) }
func (g *gauge) get() float64  { return math.Float64frombits(g.v.Load()) }

// A controlled shutdown records the node as shutting down and answers once
// its view leaves nothing to hand over: alone, at once. The node goes on
// serving until it is drained.
func TestNodeControlledShutdownRecordsAndAnswers(t *testing.T) {
	h := newHarness(t)
	if err := ControlledShutdown(h.system, h.pid, requestTimeout); err != nil {
		t.Fatalf("controlled shutdown: %v", err)
	}
	down, err := metadata.ShuttingDownNodes(context.Background(), h.store)
	if err != nil || !down[1] {
		t.Fatalf("shutting-down nodes %v, %v; want node 1", down, err)
	}
	if md := request[*messages.MetadataResponse](h, h.pid, &messages.MetadataRequest{}); md.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("metadata after the controlled shutdown: %v", md.ErrorCode)
	}
	// Asked again (a second SIGTERM), it answers again.
	if err := ControlledShutdown(h.system, h.pid, requestTimeout); err != nil {
		t.Fatalf("second controlled shutdown: %v", err)
	}
}
