package broker

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/consul"
	"github.com/sluice-mq/sluice/cluster/consul/consultest"
)

func TestBrokerNodeIDMustBeUniqueInTheCluster(t *testing.T) {
	agent := consultest.Start(t)
	cfg := consul.Config{Address: agent.Addr(), Prefix: "test/unique/", CheckTTL: time.Second, Timeout: 2 * time.Second}
	m, err := consul.NewMembership(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	ctx := context.Background()
	if err := m.Join(ctx, cluster.Member{NodeID: 1, Address: "127.0.0.1:7001"}); err != nil {
		t.Fatal(err)
	}
	other, err := consul.NewMembership(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })

	// Another process claiming node 1 from another address is refused
	// once the wait is over.
	err = checkNodeIDFree(ctx, other, cluster.Member{NodeID: 1, Address: "127.0.0.1:7002"}, 300*time.Millisecond)
	if !errors.Is(err, ErrNodeIDInUse) {
		t.Fatalf("duplicate node id: %v, want ErrNodeIDInUse", err)
	}
	// The same address is this node's previous process; another id is
	// free.
	if err := checkNodeIDFree(ctx, other, cluster.Member{NodeID: 1, Address: "127.0.0.1:7001"}, 0); err != nil {
		t.Fatalf("same id and address: %v", err)
	}
	if err := checkNodeIDFree(ctx, other, cluster.Member{NodeID: 2, Address: "127.0.0.1:7002"}, 0); err != nil {
		t.Fatalf("free id: %v", err)
	}
	// A registration that goes away within the wait frees the id: it
	// goes once the check has read it.
	watched := &membersRead{Membership: other, read: make(chan struct{})}
	checked := make(chan struct{})
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		select {
		case <-watched.read:
			_ = m.Close()
		case <-checked:
		}
	}()
	err = checkNodeIDFree(ctx, watched, cluster.Member{NodeID: 1, Address: "127.0.0.1:7002"}, 20*time.Second)
	close(checked)
	<-closed
	if err != nil {
		t.Fatalf("id freed during the wait: %v", err)
	}
	if n := watched.reads.Load(); n < 2 {
		t.Fatalf("members read %d times, want the registration seen and then gone", n)
	}
}

// membersRead is a Membership whose read channel closes after the first
// Members call.
type membersRead struct {
	cluster.Membership
	read  chan struct{}
	reads atomic.Int32
}

func (m *membersRead) Members(ctx context.Context) ([]cluster.Member, uint64, error) {
	members, index, err := m.Membership.Members(ctx)
	if m.reads.Add(1) == 1 {
		close(m.read)
	}
	return members, index, err
}
