package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newClient connects to node 0 of the cluster; one client per test, so
// the process has one remote at a time. Its cleanup runs after the
// members' (started later).
func newClient(t *testing.T, c *clustertest.Cluster) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := client.New(ctx, client.Config{Seeds: []string{c.Addr(0)}, RequestTimeout: 5 * time.Second,
		RetryBackoff: 50 * time.Millisecond, MaxRetries: 40})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close(context.Background()) })
	return cl
}

var cli struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// sluiceBinary builds cmd/sluice once, next to the harness's sluiced.
func sluiceBinary(t *testing.T) string {
	t.Helper()
	cli.once.Do(func() {
		cli.path = filepath.Join(clustertest.BuildBinaries(t), "sluice")
		cli.out, cli.err = exec.Command("go", "build", "-o", cli.path, "github.com/sluice-mq/sluice/cmd/sluice").CombinedOutput()
	})
	if cli.err != nil {
		t.Fatalf("build sluice: %v\n%s", cli.err, cli.out)
	}
	return cli.path
}

// waitUntil polls fn until it returns nil, for up to 60 s.
func waitUntil(t *testing.T, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// batches numbers produce calls, so every record value is unique.
var batches atomic.Int64

// produce writes n records "<topic>/<call>/p<partition>-<i>" to every
// partition.
func produce(t *testing.T, c *client.Client, topic string, partitions int32, n int) {
	t.Helper()
	ctx := testCtx(t)
	call := batches.Add(1)
	p, err := client.NewProducer(c, client.ProducerConfig{Acks: client.AcksAll})
	if err != nil {
		t.Fatal(err)
	}
	for part := range partitions {
		for i := range n {
			p.ProduceAsync(context.Background(), &client.Record{Topic: topic, Partition: part, Value: fmt.Appendf(nil, "%s/%d/p%d-%d", topic, call, part, i)},
				func(_ client.RecordMetadata, err error) {
					if err != nil {
						t.Errorf("produce: %v", err)
					}
				})
		}
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// groupConfig is a consumer of topics in group that starts at the log
// start, commits automatically and notices rebalances quickly.
func groupConfig(group string, topics ...string) client.GroupConfig {
	return client.GroupConfig{
		GroupID:            group,
		Topics:             topics,
		SessionTimeout:     10 * time.Second,
		RebalanceTimeout:   10 * time.Second,
		HeartbeatInterval:  200 * time.Millisecond,
		AutoCommit:         true,
		AutoCommitInterval: 200 * time.Millisecond,
		AutoOffsetReset:    client.ResetEarliest,
	}
}

// member runs a group consumer in a goroutine until closed, recording the
// records it reads and its current assignment.
type member struct {
	t  *testing.T
	gc *client.GroupConsumer

	mu       sync.Mutex
	records  []string
	assigned map[client.TopicPartition]bool

	stop chan struct{}
	done chan error
}

func startMember(t *testing.T, c *client.Client, cfg client.GroupConfig) *member {
	t.Helper()
	m := &member{t: t, assigned: map[client.TopicPartition]bool{}, stop: make(chan struct{}), done: make(chan error, 1)}
	cfg.OnAssigned = func(_ context.Context, tps []client.TopicPartition) {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, tp := range tps {
			m.assigned[tp] = true
		}
	}
	cfg.OnRevoked = func(_ context.Context, tps []client.TopicPartition) {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, tp := range tps {
			delete(m.assigned, tp)
		}
	}
	gc, err := client.NewGroupConsumer(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.gc = gc
	go m.run()
	t.Cleanup(m.close)
	return m
}

func (m *member) run() {
	for {
		select {
		case <-m.stop:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			m.done <- m.gc.Close(ctx)
			cancel()
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		recs, err := m.gc.Poll(ctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			m.done <- err
			return
		}
		m.mu.Lock()
		for _, r := range recs {
			m.records = append(m.records, string(r.Value))
		}
		m.mu.Unlock()
	}
}

// close stops the member: it commits, leaves the group and reports an
// error of its run.
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

func (m *member) assignment() map[client.TopicPartition]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[client.TopicPartition]bool, len(m.assigned))
	for tp := range m.assigned {
		out[tp] = true
	}
	return out
}

func (m *member) read() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.records...)
}

// ownedOnce checks that the members' assignments cover topic's n
// partitions exactly once, and that each member owns between min and max.
func ownedOnce(topic string, n int32, members ...*member) error {
	count := map[client.TopicPartition]int{}
	for _, m := range members {
		for tp := range m.assignment() {
			count[tp]++
		}
	}
	for p := range n {
		if c := count[client.TopicPartition{Topic: topic, Partition: p}]; c != 1 {
			return fmt.Errorf("%s/%d owned %d times", topic, p, c)
		}
	}
	if len(count) != int(n) {
		return fmt.Errorf("%d partitions owned, want %d", len(count), n)
	}
	return nil
}

// distinct counts the distinct records the members read.
func distinct(members ...*member) int {
	seen := map[string]bool{}
	for _, m := range members {
		for _, r := range m.read() {
			seen[r] = true
		}
	}
	return len(seen)
}
