package controller_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	ctlactor "github.com/sluice-mq/sluice/actors/controller"
	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/consul"
	"github.com/sluice-mq/sluice/cluster/consul/consultest"
	"github.com/sluice-mq/sluice/cluster/controller"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

const (
	waitTimeout    = 30 * time.Second
	requestTimeout = 5 * time.Second
)

// node is one simulated node: a Consul membership and store, and a
// controller actor under a parent that records RoleChanged.
type node struct {
	id         int32
	store      *consul.Store
	membership *consul.Membership
	ctl        *controller.Controller
	system     *actor.ActorSystem
	parent     *actor.PID
	child      chan *actor.PID
	roles      chan *ctlactor.RoleChanged
}

func testConfig(t *testing.T, agent *consultest.Agent) consul.Config {
	name := strings.ToLower(strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()))
	return consul.Config{
		Address:     agent.Addr(),
		Prefix:      "test/" + name + "/",
		ServiceName: "sluice-" + name,
		Timeout:     2 * time.Second,
		WaitTime:    time.Second,
		CheckTTL:    time.Second,
		LockDelay:   200 * time.Millisecond,
	}
}

func startNode(t *testing.T, cfg consul.Config, id int32, tune ...func(*ctlactor.Config)) *node {
	t.Helper()
	st, err := consul.NewStore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	m, err := consul.NewMembership(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	self := cluster.Member{NodeID: id, Address: fmt.Sprintf("127.0.0.1:%d", 17000+id)}
	if err := m.Join(context.Background(), self); err != nil {
		t.Fatal(err)
	}
	n := &node{
		id: id, store: st, membership: m,
		ctl:    controller.New(st, m, metadata.DefaultTopicConfig()),
		system: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) })),
		child:  make(chan *actor.PID, 1),
		roles:  make(chan *ctlactor.RoleChanged, 16),
	}
	actorCfg := ctlactor.Config{
		NodeID: id, Store: st, Membership: m, Controller: n.ctl,
		RecheckInterval: time.Second, RetryMax: 500 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, fn := range tune {
		fn(&actorCfg)
	}
	props := ctlactor.Props(actorCfg)
	n.parent = n.system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actor.Started:
			n.child <- ctx.Spawn(props)
		case *ctlactor.RoleChanged:
			n.roles <- m
		}
	}))
	t.Cleanup(func() { _ = n.system.Root.StopFuture(n.parent).Wait() })
	return n
}

// waitRole waits for the node's next RoleChanged and checks it.
func (n *node) waitRole(t *testing.T, active bool) {
	t.Helper()
	select {
	case r := <-n.roles:
		if r.Active != active || r.NodeID != n.id {
			t.Fatalf("node %d: RoleChanged %+v, want active %v", n.id, r, active)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("node %d: no RoleChanged(active=%v) within %s", n.id, active, waitTimeout)
	}
}

func (n *node) status(t *testing.T, pid *actor.PID) *ctlactor.Status {
	t.Helper()
	res, err := n.system.Root.RequestFuture(pid, &ctlactor.StatusRequest{}, requestTimeout).Result()
	if err != nil {
		t.Fatal(err)
	}
	return res.(*ctlactor.Status)
}

func waitFor(t *testing.T, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not met after %s: %v", waitTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func stateIs(st cluster.Store, topic string, p int32, want func(metadata.PartitionState) error) func() error {
	return func() error {
		s, err := metadata.GetPartitionState(context.Background(), st, topic, p)
		if err != nil {
			return err
		}
		return want(s)
	}
}

func TestControllerActorElectsOnMemberLossAndHandsOverTheLock(t *testing.T) {
	agent := consultest.Start(t)
	cfg := testConfig(t, agent)
	n1 := startNode(t, cfg, 1)
	n1.waitRole(t, true)
	pid1 := <-n1.child
	n2 := startNode(t, cfg, 2)
	pid2 := <-n2.child

	ctx := context.Background()
	resp := n1.ctl.CreateTopic(ctx, &messages.CreateTopicRequest{Name: "orders", Partitions: 2, ReplicationFactor: 2})
	if resp.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("create topic: %v %s", resp.ErrorCode, resp.ErrorMessage)
	}
	snap, err := metadata.Load(ctx, n1.store)
	if err != nil {
		t.Fatal(err)
	}
	// One partition is led by node 2: its loss moves the leader to node 1
	// in a new epoch and leaves node 1 alone in the ISR.
	var led2 int32 = -1
	for p := range int32(2) {
		if s, _ := snap.State("orders", p); s.Leader == 2 {
			led2 = p
		}
	}
	if led2 < 0 {
		t.Fatalf("no partition led by node 2: %+v", snap.States)
	}
	before, _ := snap.State("orders", led2)
	if err := n2.membership.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, stateIs(n1.store, "orders", led2, func(s metadata.PartitionState) error {
		if s.Leader != 1 || s.LeaderEpoch != before.LeaderEpoch+1 || fmt.Sprint(s.ISR) != "[1]" {
			return fmt.Errorf("state %+v", s)
		}
		return nil
	}))
	if st := n1.status(t, pid1); !st.Active || st.Elections == 0 {
		t.Fatalf("node 1 status %+v", st)
	}
	if st := n2.status(t, pid2); st.Active {
		t.Fatalf("node 2 reports itself controller: %+v", st)
	}

	// Node 3 joins, then node 1 leaves: node 3 takes the lock, and since
	// node 1 was the only ISR member the partition goes offline (no
	// unclean election) in a bumped epoch.
	n3 := startNode(t, cfg, 3)
	if err := n1.membership.Close(); err != nil {
		t.Fatal(err)
	}
	n1.waitRole(t, false)
	n3.waitRole(t, true)
	waitFor(t, stateIs(n3.store, "orders", led2, func(s metadata.PartitionState) error {
		if s.Leader != -1 || s.LeaderEpoch != before.LeaderEpoch+2 {
			return fmt.Errorf("state %+v, want offline in epoch %d", s, before.LeaderEpoch+2)
		}
		return nil
	}))
}

func TestControllerActorFixesPartitionsWrittenWithADeadLeader(t *testing.T) {
	agent := consultest.Start(t)
	cfg := testConfig(t, agent)
	n1 := startNode(t, cfg, 1)
	n1.waitRole(t, true)
	// Written behind the controller's back (a creation that raced with
	// node 9's death): the metadata watch brings it in line.
	topic := metadata.Topic{Name: "late", Replicas: [][]int32{{9, 1}}}
	states := []metadata.PartitionState{{Leader: 9, LeaderEpoch: 3, ISR: []int32{9, 1}}}
	if err := metadata.CreateTopic(context.Background(), n1.store, topic, states); err != nil {
		t.Fatal(err)
	}
	waitFor(t, stateIs(n1.store, "late", 0, func(s metadata.PartitionState) error {
		if s.Leader != 1 || s.LeaderEpoch != 4 || fmt.Sprint(s.ISR) != "[1]" {
			return fmt.Errorf("state %+v", s)
		}
		return nil
	}))
}

func TestControllerActorBalancesLeadersEveryInterval(t *testing.T) {
	agent := consultest.Start(t)
	cfg := testConfig(t, agent)
	balance := func(c *ctlactor.Config) { c.LeaderBalanceInterval, c.LeaderImbalancePercent = 200*time.Millisecond, 10 }
	n1 := startNode(t, cfg, 1, balance)
	n1.waitRole(t, true)
	startNode(t, cfg, 2, balance)
	// Node 1 is preferred but node 2 leads, both in sync (after a
	// failover of node 1 and its return).
	topic := metadata.Topic{Name: "skewed", Replicas: [][]int32{{1, 2}}}
	states := []metadata.PartitionState{{Leader: 2, LeaderEpoch: 1, ISR: []int32{2, 1}}}
	if err := metadata.CreateTopic(context.Background(), n1.store, topic, states); err != nil {
		t.Fatal(err)
	}
	waitFor(t, stateIs(n1.store, "skewed", 0, func(s metadata.PartitionState) error {
		if s.Leader != 1 || s.LeaderEpoch != 2 {
			return fmt.Errorf("state %+v, want leader 1 in epoch 2", s)
		}
		return nil
	}))
}
