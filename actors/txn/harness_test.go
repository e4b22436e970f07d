package txn

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/actors/partition"
	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/controller"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

const requestTimeout = 10 * time.Second

// testNode stands in for the node guardian: it hosts the replica of
// __transaction_state partition 0 (a real replica actor over a real log),
// routes transaction requests through a Host (reconciling it on every
// view), and hands out producer ids as the guardian does.
type testNode struct {
	host    *Host
	view    controller.ClusterView
	replica partition.Config
	// data are the replicas of "out" partitions 0 and 1, hosted when the
	// harness writes real markers.
	data    []partition.Config
	nextPID int64
}

// setView replaces the test node's cluster view.
type setView struct{ view controller.ClusterView }

func (n *testNode) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *setView:
		n.view = m.view
		n.host.Reconcile(ctx, n.view)
	case *actor.Started:
		state := partition.State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1}, ISR: []int32{1}}
		for _, cfg := range append([]partition.Config{n.replica}, n.data...) {
			if _, err := ctx.SpawnNamed(partition.Props(cfg, state), messages.ReplicaActorName(cfg.Topic, cfg.Partition)); err != nil {
				panic(err)
			}
		}
		n.host.Reconcile(ctx, n.view)
	case *messages.MetadataRequest:
		ctx.Respond(controller.Metadata(n.view, m))
	case *messages.InitProducerIdRequest:
		if m.TransactionalId == "" {
			n.nextPID++
			ctx.Respond(&messages.InitProducerIdResponse{ProducerId: n.nextPID})
			return
		}
		n.host.Handle(ctx, n.view)
	default:
		n.host.Handle(ctx, n.view)
	}
}

// fakeMarkers records the markers the coordinators write; while failing
// is set every write fails.
type fakeMarkers struct {
	mu      sync.Mutex
	written []Marker
	failing bool
}

func (f *fakeMarkers) Write(ctx actor.Context, m Marker, done func(error)) {
	f.mu.Lock()
	var err error
	if f.failing {
		err = messages.Wrap(messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, "injected")
	} else {
		f.written = append(f.written, m)
	}
	f.mu.Unlock()
	// Answer later, on the actor, as a real request would.
	fut := actor.NewFuture(ctx.ActorSystem(), time.Second)
	ctx.ActorSystem().Root.Send(fut.PID(), "done")
	ctx.ReenterAfter(fut, func(any, error) { done(err) })
}

func (f *fakeMarkers) setFailing(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = v
}

func (f *fakeMarkers) all() []Marker {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Marker(nil), f.written...)
}

type harness struct {
	t       testing.TB
	system  *actor.ActorSystem
	dir     string
	cfg     Config
	pid     *actor.PID
	markers *fakeMarkers
	nextPID int64
	// realMarkers hosts "out" replicas and writes markers to them with
	// the default LeaderMarkers.
	realMarkers bool
	// createTopic, when set, is the Host's way to create internal topics.
	createTopic CreateTopicFunc
}

// newHarness starts a node leading a one-partition __transaction_state,
// with topics "out" (2 partitions) and __consumer_offsets (1 partition).
func newHarness(t testing.TB, mutate func(*Config)) *harness {
	return startHarness(t, false, mutate)
}

// startHarness starts a harness; with realMarkers the node hosts the "out"
// replicas and markers go to them.
func startHarness(t testing.TB, realMarkers bool, mutate func(*Config)) *harness {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	h := &harness{
		t:           t,
		system:      actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet })),
		dir:         t.TempDir(),
		markers:     &fakeMarkers{},
		nextPID:     5000,
		realMarkers: realMarkers,
	}
	h.cfg = Config{Logger: quiet, Markers: h.markers, MarkerRetryBackoff: 20 * time.Millisecond}
	if realMarkers {
		h.cfg.Markers = nil
	}
	if mutate != nil {
		mutate(&h.cfg)
	}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) view() controller.ClusterView {
	tp := metadata.TopicPartition{Topic: messages.TransactionStateTopic, Partition: 0}
	return controller.ClusterView{
		ControllerID: 1,
		Members:      []cluster.Member{{NodeID: 1, Address: h.system.Address()}},
		Snapshot: metadata.Snapshot{
			Topics: map[string]metadata.Topic{
				messages.TransactionStateTopic: {Name: messages.TransactionStateTopic, Replicas: [][]int32{{1}}, Internal: true},
				messages.ConsumerOffsetsTopic:  {Name: messages.ConsumerOffsetsTopic, Replicas: [][]int32{{1}}, Internal: true},
				"out":                          {Name: "out", Replicas: [][]int32{{1}, {1}}},
			},
			States: map[metadata.TopicPartition]metadata.PartitionState{
				tp:                           {Leader: 1, LeaderEpoch: 0, ISR: []int32{1}},
				{Topic: "out"}:               {Leader: 1, LeaderEpoch: 0, ISR: []int32{1}},
				{Topic: "out", Partition: 1}: {Leader: 1, LeaderEpoch: 0, ISR: []int32{1}},
			},
		},
	}
}

func (h *harness) setView(mutate func(*controller.ClusterView)) {
	v := h.view()
	mutate(&v)
	h.system.Root.Send(h.pid, &setView{view: v})
}

func (h *harness) start() {
	h.t.Helper()
	n := &testNode{
		host:    NewHost(1, h.createTopic, h.cfg),
		view:    h.view(),
		nextPID: h.nextPID,
		replica: partition.Config{
			Topic:       messages.TransactionStateTopic,
			Partition:   0,
			NodeID:      1,
			Dir:         filepath.Join(h.dir, messages.TransactionStateTopic+"-0"),
			TopicConfig: metadata.DefaultTopicConfig(),
			Logger:      h.cfg.Logger,
		},
	}
	if h.realMarkers {
		for p := range int32(2) {
			n.data = append(n.data, partition.Config{
				Topic: "out", Partition: p, NodeID: 1, Dir: filepath.Join(h.dir, fmt.Sprintf("out-%d", p)),
				TopicConfig: metadata.DefaultTopicConfig(), Logger: h.cfg.Logger,
			})
		}
	}
	h.nextPID += 1000 // ids of a restarted node come from a new block
	pid, err := h.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return n }), messages.NodeActorID)
	if err != nil {
		h.t.Fatal(err)
	}
	h.pid = pid
}

func (h *harness) stop() {
	if h.pid != nil {
		if err := h.system.Root.StopFuture(h.pid).Wait(); err != nil {
			h.t.Errorf("stop node: %v", err)
		}
		h.pid = nil
	}
}

// restart stops the node (the replica closes its log, the coordinators
// stop) and starts it again on the same data.
func (h *harness) restart() {
	h.t.Helper()
	h.stop()
	h.start()
}

func call[T any](h *harness, req any) T {
	h.t.Helper()
	return callPID[T](h, h.pid, req)
}

func (h *harness) replicaPID(topic string, partition int32) *actor.PID {
	return actor.NewPID(h.system.Address(), messages.ReplicaActorID(topic, partition))
}

func callPID[T any](h *harness, pid *actor.PID, req any) T {
	h.t.Helper()
	res, err := h.system.Root.RequestFuture(pid, req, requestTimeout).Result()
	if err != nil {
		h.t.Fatalf("request %T: %v", req, err)
	}
	out, ok := res.(T)
	if !ok {
		h.t.Fatalf("request %T: got %T", req, res)
	}
	return out
}

// waitFor polls fn until it returns nil or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// init runs InitProducerId until it is answered with something other than
// a retriable loading or concurrency error.
func (h *harness) init(id string, timeout time.Duration, pid int64, epoch int32) *messages.InitProducerIdResponse {
	h.t.Helper()
	var r *messages.InitProducerIdResponse
	waitFor(h.t, requestTimeout, func() error {
		r = call[*messages.InitProducerIdResponse](h, &messages.InitProducerIdRequest{
			TransactionalId: id, TransactionTimeoutMs: int32(timeout.Milliseconds()), ProducerId: pid, ProducerEpoch: epoch})
		switch r.ErrorCode {
		case messages.ErrorCode_COORDINATOR_LOAD_IN_PROGRESS, messages.ErrorCode_CONCURRENT_TRANSACTIONS:
			return errors.New(r.ErrorCode.String())
		}
		return nil
	})
	return r
}

func (h *harness) add(id string, pid int64, epoch int32, topic string, partitions ...int32) *messages.AddPartitionsToTxnResponse {
	h.t.Helper()
	return call[*messages.AddPartitionsToTxnResponse](h, &messages.AddPartitionsToTxnRequest{
		TransactionalId: id, ProducerId: pid, ProducerEpoch: epoch,
		Topics: []*messages.AddPartitionsToTxnTopic{{Name: topic, Partitions: partitions}},
	})
}

func (h *harness) end(id string, pid int64, epoch int32, commit bool) messages.ErrorCode {
	h.t.Helper()
	return call[*messages.EndTxnResponse](h, &messages.EndTxnRequest{
		TransactionalId: id, ProducerId: pid, ProducerEpoch: epoch, Committed: commit}).ErrorCode
}

func (h *harness) describe(id string) *messages.DescribedTransaction {
	h.t.Helper()
	resp := call[*messages.DescribeTransactionsResponse](h, &messages.DescribeTransactionsRequest{TransactionalIds: []string{id}})
	if len(resp.TransactionStates) != 1 {
		h.t.Fatalf("describe: %d states", len(resp.TransactionStates))
	}
	return resp.TransactionStates[0]
}

// waitState waits until id is described in state.
func (h *harness) waitState(id, state string) *messages.DescribedTransaction {
	h.t.Helper()
	var d *messages.DescribedTransaction
	waitFor(h.t, requestTimeout, func() error {
		d = h.describe(id)
		if d.ErrorCode != messages.ErrorCode_NONE || d.TransactionState != state {
			return fmt.Errorf("state %s (%s %s), want %s", d.TransactionState, d.ErrorCode, d.ErrorMessage, state)
		}
		return nil
	})
	return d
}
