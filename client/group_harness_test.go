package client

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	groupactor "github.com/sluice-mq/sluice/actors/group"
	"github.com/sluice-mq/sluice/actors/node"
	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/local"
	"github.com/sluice-mq/sluice/cluster/metadata"
	core "github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
)

// newNodeClient starts a client with a real node guardian (node 1, its
// own controller over a file store in a temporary directory, hosting
// replicas and group coordinators) inside the client's own actor system:
// a test process runs one remote only. The coordinator accepts sessions
// from 100 ms and forms a new group without the initial rebalance delay.
func newNodeClient(t *testing.T) *Client {
	t.Helper()
	c, err := start(Config{Seeds: []string{"127.0.0.1:1"}, RequestTimeout: 5 * time.Second, RetryBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	st, err := local.Open(filepath.Join(dataDir, "metadata"))
	if err != nil {
		_ = c.Close(context.Background())
		t.Fatal(err)
	}
	ctx := context.Background()
	self := cluster.Member{NodeID: 1, Address: c.Address()}
	members := local.NewMembership(self)
	if err := members.Join(ctx, self); err != nil {
		t.Fatal(err)
	}
	snap, err := metadata.Load(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	gc := core.DefaultConfig()
	gc.MinSessionTimeout = 100 * time.Millisecond
	gc.InitialRebalanceDelay = 0
	quiet := slog.New(slog.DiscardHandler)
	pid, err := c.system.Root.SpawnNamed(node.Props(node.Config{
		Self:          self,
		DataDir:       dataDir,
		Store:         st,
		Membership:    members,
		Initial:       snap,
		TopicDefaults: metadata.DefaultTopicConfig(),
		Logger:        quiet,
		Groups:        groupactor.Config{Group: gc, OffsetsPartitions: 4, Logger: quiet},
	}), messages.NodeActorID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := node.Drain(c.system, pid, 10*time.Second); err != nil {
			t.Error(err)
		}
		if err := c.system.Root.StopFuture(pid).Wait(); err != nil {
			t.Error(err)
		}
		_ = c.Close(context.Background())
		if err := st.Close(); err != nil {
			t.Error(err)
		}
	})
	c.cfg.Seeds = []string{c.Address()}
	waitUntil(t, func() error {
		bctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		md, err := c.Metadata(bctx)
		if err == nil && md.ControllerID != 1 {
			err = fmt.Errorf("controller %d", md.ControllerID)
		}
		return err
	})
	return c
}

// waitUntil polls fn until it returns nil, for up to 20 s.
func waitUntil(t *testing.T, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// produceEach writes n records "p<partition>-<i>" to every partition of
// topic.
func produceEach(t *testing.T, c *Client, topic string, partitions int32, n int) {
	t.Helper()
	ctx := context.Background()
	p, err := NewProducer(c, ProducerConfig{Acks: AcksLeader})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := p.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	for part := range partitions {
		for i := range n {
			if _, _, err := p.Produce(ctx, &Record{Topic: topic, Partition: part, Value: fmt.Appendf(nil, "p%d-%d", part, i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// member runs a group consumer in a goroutine, recording what it reads
// and its assignment changes, until stop.
type member struct {
	t  *testing.T
	gc *GroupConsumer

	mu       sync.Mutex
	records  []*Record
	assigned map[TopicPartition]bool
	revoked  int

	stop chan struct{}
	done chan error
}

func startMember(t *testing.T, c *Client, cfg GroupConfig) *member {
	t.Helper()
	m := &member{t: t, assigned: map[TopicPartition]bool{}, stop: make(chan struct{}), done: make(chan error, 1)}
	cfg.OnAssigned = func(_ context.Context, tps []TopicPartition) {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, tp := range tps {
			m.assigned[tp] = true
		}
	}
	cfg.OnRevoked = func(_ context.Context, tps []TopicPartition) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.revoked += len(tps)
		for _, tp := range tps {
			delete(m.assigned, tp)
		}
	}
	gc, err := NewGroupConsumer(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.gc = gc
	go func() {
		for {
			select {
			case <-m.stop:
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				m.done <- gc.Close(ctx)
				cancel()
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			recs, err := gc.Poll(ctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				m.done <- err
				return
			}
			m.mu.Lock()
			m.records = append(m.records, recs...)
			m.mu.Unlock()
		}
	}()
	t.Cleanup(func() { m.close() })
	return m
}

// close stops the member (committing and leaving) and reports its error.
func (m *member) close() {
	select {
	case <-m.stop:
		return
	default:
	}
	close(m.stop)
	if err := <-m.done; err != nil {
		m.t.Errorf("member: %v", err)
	}
}

func (m *member) assignment() map[TopicPartition]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[TopicPartition]bool, len(m.assigned))
	for tp := range m.assigned {
		out[tp] = true
	}
	return out
}

func (m *member) values() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, len(m.records))
	for i, r := range m.records {
		out[i] = string(r.Value)
	}
	return out
}

// ownedOnce checks that the members' assignments cover topic's n
// partitions exactly once.
func ownedOnce(topic string, n int32, members ...*member) error {
	count := map[TopicPartition]int{}
	for _, m := range members {
		for tp := range m.assignment() {
			count[tp]++
		}
	}
	for p := range n {
		if c := count[TopicPartition{Topic: topic, Partition: p}]; c != 1 {
			return fmt.Errorf("%s/%d owned %d times (%v)", topic, p, c, count)
		}
	}
	if len(count) != int(n) {
		return fmt.Errorf("%d partitions owned, want %d", len(count), n)
	}
	return nil
}
