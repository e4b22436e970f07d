package group

import (
	"context"
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
	core "github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
)

const requestTimeout = 10 * time.Second

// testNode stands in for the node guardian: it hosts the replica of
// __consumer_offsets partition 0 (a real replica actor over a real log)
// and routes group requests through a Host, as the guardian does.
type testNode struct {
	host    *Host
	view    controller.ClusterView
	replica partition.Config
}

// setView replaces the test node's cluster view.
type setView struct{ view controller.ClusterView }

func (n *testNode) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *setView:
		n.view = m.view
	case *actor.Started:
		state := partition.State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1}, ISR: []int32{1}}
		if _, err := ctx.SpawnNamed(partition.Props(n.replica, state), messages.ReplicaActorName(n.replica.Topic, n.replica.Partition)); err != nil {
			panic(err)
		}
	default:
		n.host.Handle(ctx, n.view)
	}
}

type harness struct {
	t      testing.TB
	system *actor.ActorSystem
	dir    string
	cfg    Config
	pid    *actor.PID
	// replicaConfig, when set, adjusts the replica's config at each start.
	replicaConfig func(*partition.Config)
	// created records CreateTopic calls made by the Host.
	mu      sync.Mutex
	created []*messages.CreateTopicRequest
}

// newHarness starts a node leading a one-partition __consumer_offsets.
// Sessions may be as short as 50 ms and the first rebalance has no delay,
// so tests run fast; mutate adjusts the config.
func newHarness(t testing.TB, mutate func(*Config)) *harness {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	gc := core.DefaultConfig()
	gc.MinSessionTimeout = 50 * time.Millisecond
	gc.InitialRebalanceDelay = 0
	cfg := Config{Group: gc, Logger: quiet}
	if mutate != nil {
		mutate(&cfg)
	}
	h := &harness{
		t:      t,
		system: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet })),
		dir:    t.TempDir(),
		cfg:    cfg,
	}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) view() controller.ClusterView {
	tp := metadata.TopicPartition{Topic: messages.ConsumerOffsetsTopic, Partition: 0}
	return controller.ClusterView{
		ControllerID: 1,
		Members:      []cluster.Member{{NodeID: 1, Address: h.system.Address()}},
		Snapshot: metadata.Snapshot{
			Topics: map[string]metadata.Topic{messages.ConsumerOffsetsTopic: {
				Name: messages.ConsumerOffsetsTopic, Replicas: [][]int32{{1}}, Internal: true,
			}},
			States: map[metadata.TopicPartition]metadata.PartitionState{tp: {Leader: 1, LeaderEpoch: 0, ISR: []int32{1}}},
		},
	}
}

// setView changes the node's view; mutate gets the default one.
func (h *harness) setView(mutate func(*controller.ClusterView)) {
	v := h.view()
	mutate(&v)
	h.system.Root.Send(h.pid, &setView{view: v})
}

func (h *harness) createTopic(_ context.Context, req *messages.CreateTopicRequest) *messages.CreateTopicResponse {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.created = append(h.created, req)
	return &messages.CreateTopicResponse{}
}

// start spawns the node (and so the replica); group actors start on
// demand and load from the log.
func (h *harness) start() {
	h.t.Helper()
	n := &testNode{
		host: NewHost(1, h.createTopic, h.cfg),
		view: h.view(),
		replica: partition.Config{
			Topic:       messages.ConsumerOffsetsTopic,
			Partition:   0,
			NodeID:      1,
			Dir:         filepath.Join(h.dir, messages.ConsumerOffsetsTopic+"-0"),
			TopicConfig: metadata.DefaultTopicConfig(),
			Logger:      h.cfg.Logger,
		},
	}
	if h.replicaConfig != nil {
		h.replicaConfig(&n.replica)
	}
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

// restart stops the node (replica closes its log, group actors stop) and
// starts it again on the same data.
func (h *harness) restart() {
	h.t.Helper()
	h.stop()
	h.start()
}

// call sends req to the node and waits for a T.
func call[T any](h *harness, req any) T {
	h.t.Helper()
	out, err := callErr[T](h, req)
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

func callErr[T any](h *harness, req any) (T, error) {
	var zero T
	res, err := h.system.Root.RequestFuture(h.pid, req, requestTimeout).Result()
	if err != nil {
		return zero, fmt.Errorf("request %T: %w", req, err)
	}
	out, ok := res.(T)
	if !ok {
		return zero, fmt.Errorf("request %T: got %T", req, res)
	}
	return out, nil
}

// async sends req and returns a function that waits for its T.
func async[T any](h *harness, req any) func() T {
	f := h.system.Root.RequestFuture(h.pid, req, requestTimeout)
	return func() T {
		h.t.Helper()
		res, err := f.Result()
		if err != nil {
			h.t.Fatalf("request %T: %v", req, err)
		}
		out, ok := res.(T)
		if !ok {
			h.t.Fatalf("request %T: got %T", req, res)
		}
		return out
	}
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

// loaded waits until the group's actor has loaded (requests no longer get
// COORDINATOR_LOAD_IN_PROGRESS).
func (h *harness) loaded(group string) {
	h.t.Helper()
	waitFor(h.t, requestTimeout, func() error {
		resp, err := callErr[*messages.DescribeGroupsResponse](h, &messages.DescribeGroupsRequest{Groups: []string{group}})
		if err != nil {
			return err
		}
		if c := resp.Groups[0].ErrorCode; c != messages.ErrorCode_NONE {
			return errors.New(c.String())
		}
		return nil
	})
}

func joinRequest(group, member string, session time.Duration, protocols ...string) *messages.JoinGroupRequest {
	req := &messages.JoinGroupRequest{
		GroupId:          group,
		MemberId:         member,
		SessionTimeoutMs: int32(session.Milliseconds()),
		ProtocolType:     "consumer",
		ClientId:         "test",
	}
	for _, p := range protocols {
		req.Protocols = append(req.Protocols, &messages.GroupProtocol{Name: p, Metadata: []byte("sub-" + p)})
	}
	return req
}

// newMemberID joins a loaded group without an id and returns the id the
// coordinator hands out with MEMBER_ID_REQUIRED.
func (h *harness) newMemberID(group string, session time.Duration) string {
	h.t.Helper()
	r := call[*messages.JoinGroupResponse](h, joinRequest(group, "", session, "range"))
	if r.ErrorCode != messages.ErrorCode_MEMBER_ID_REQUIRED || r.MemberId == "" {
		h.t.Fatalf("first join: %s %q, want MEMBER_ID_REQUIRED with an id", r.ErrorCode, r.MemberId)
	}
	return r.MemberId
}

// joinAlone makes a one-member group Stable and returns the member id and
// generation.
func (h *harness) joinAlone(group string, session time.Duration) (string, int32) {
	h.t.Helper()
	h.loaded(group)
	id := h.newMemberID(group, session)
	r := call[*messages.JoinGroupResponse](h, joinRequest(group, id, session, "range"))
	if r.ErrorCode != messages.ErrorCode_NONE || r.Leader != id {
		h.t.Fatalf("join: %s leader %q, want NONE and leader %q", r.ErrorCode, r.Leader, id)
	}
	s := call[*messages.SyncGroupResponse](h, &messages.SyncGroupRequest{
		GroupId: group, GenerationId: r.GenerationId, MemberId: id,
		Assignments: []*messages.SyncGroupAssignment{{MemberId: id, Assignment: []byte("all")}},
	})
	if s.ErrorCode != messages.ErrorCode_NONE || string(s.Assignment) != "all" {
		h.t.Fatalf("sync: %s %q", s.ErrorCode, s.Assignment)
	}
	return id, r.GenerationId
}

func (h *harness) commit(group, member string, generation int32, topic string, offsets map[int32]int64) *messages.OffsetCommitResponse {
	h.t.Helper()
	req := &messages.OffsetCommitRequest{GroupId: group, MemberId: member, GenerationId: generation}
	t := &messages.OffsetCommitTopic{Name: topic}
	for p, o := range offsets {
		t.Partitions = append(t.Partitions, &messages.OffsetCommitPartition{Partition: p, CommittedOffset: o, CommittedLeaderEpoch: -1, Metadata: "m"})
	}
	req.Topics = []*messages.OffsetCommitTopic{t}
	return call[*messages.OffsetCommitResponse](h, req)
}

// committed returns the group's committed offsets by "topic/partition".
func (h *harness) committed(group string) (map[string]int64, messages.ErrorCode) {
	h.t.Helper()
	resp := call[*messages.OffsetFetchResponse](h, &messages.OffsetFetchRequest{GroupId: group})
	out := make(map[string]int64)
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[fmt.Sprintf("%s/%d", t.Name, p.Partition)] = p.CommittedOffset
		}
	}
	return out, resp.ErrorCode
}

func (h *harness) describe(group string) *messages.DescribedGroup {
	h.t.Helper()
	resp := call[*messages.DescribeGroupsResponse](h, &messages.DescribeGroupsRequest{Groups: []string{group}})
	if len(resp.Groups) != 1 {
		h.t.Fatalf("describe: %d groups", len(resp.Groups))
	}
	return resp.Groups[0]
}
