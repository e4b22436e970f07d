package consul_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/consul"
	"github.com/sluice-mq/sluice/cluster/consul/consultest"
)

const (
	// testTimeout bounds every request in tests; Consul on loopback
	// answers in milliseconds, but a stopped agent must fail fast.
	testTimeout = 2 * time.Second
	// testWaitTime keeps blocking queries short.
	testWaitTime = time.Second
	// waitTimeout bounds every waitFor: generous, as the machine is shared.
	waitTimeout = 30 * time.Second
)

// testConfig is a config for agent with a prefix unique to the test.
func testConfig(t *testing.T, agent *consultest.Agent) consul.Config {
	name := strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return consul.Config{
		Address:     agent.Addr(),
		Prefix:      "test/" + name + "/",
		ServiceName: "sluice-" + strings.ToLower(name),
		Timeout:     testTimeout,
		WaitTime:    testWaitTime,
		CheckTTL:    2 * time.Second,
		LockDelay:   500 * time.Millisecond,
	}
}

func newStore(t *testing.T, cfg consul.Config) *consul.Store {
	t.Helper()
	s, err := consul.NewStore(cfg)
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// member is node id's member with made-up addresses.
func member(id int32) cluster.Member {
	return cluster.Member{
		NodeID:      id,
		Address:     fmt.Sprintf("127.0.0.1:%d", 17000+id),
		HTTPAddress: fmt.Sprintf("127.0.0.1:%d", 18000+id),
	}
}

// join starts a Membership for node id that leaves on cleanup.
func join(t *testing.T, cfg consul.Config, id int32) *consul.Membership {
	t.Helper()
	return joinCtx(t, context.Background(), cfg, id)
}

func joinCtx(t *testing.T, ctx context.Context, cfg consul.Config, id int32) *consul.Membership {
	t.Helper()
	m, err := consul.NewMembership(cfg)
	if err != nil {
		t.Fatalf("NewMembership: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("node %d: Close: %v", id, err)
		}
	})
	if err := m.Join(ctx, member(id)); err != nil {
		t.Fatalf("node %d: Join: %v", id, err)
	}
	return m
}

// waitFor polls cond until it returns nil or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// nodeIDs returns the members' node ids.
func nodeIDs(members []cluster.Member) []int32 {
	ids := make([]int32, len(members))
	for i, m := range members {
		ids[i] = m.NodeID
	}
	return ids
}

// membersAre is a waitFor condition: m lists exactly ids.
func membersAre(m *consul.Membership, ids ...int32) func() error {
	return func() error {
		members, _, err := m.Members(context.Background())
		if err != nil {
			return err
		}
		if got := fmt.Sprint(nodeIDs(members)); got != fmt.Sprint(ids) {
			return fmt.Errorf("members %s, want %v", got, ids)
		}
		return nil
	}
}

// registered is a waitFor condition: m reports itself registered.
func registered(m *consul.Membership) func() error {
	return func() error {
		if st := m.Status(); !st.Registered {
			return fmt.Errorf("not registered: %v", st.LastError)
		}
		return nil
	}
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
