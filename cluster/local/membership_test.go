package local

import (
	"context"
	"errors"
	"testing"

	"github.com/sluice-mq/sluice/cluster"
)

func TestMembershipJoinLeave(t *testing.T) {
	ctx := context.Background()
	self := cluster.Member{NodeID: 1, Address: "127.0.0.1:7070", HTTPAddress: "127.0.0.1:8080"}
	m := NewMembership(self, WithMembershipWaitTime(testWaitTime))

	members, i0, err := m.Members(ctx)
	if err != nil || len(members) != 0 {
		t.Fatalf("Members before Join = %v, %v; want empty", members, err)
	}
	if err := m.Join(ctx, self); err != nil {
		t.Fatal(err)
	}
	members, i1, err := m.Members(ctx)
	if err != nil || len(members) != 1 || members[0] != self || i1 <= i0 {
		t.Fatalf("Members after Join = %v index %d (before %d), %v", members, i1, i0, err)
	}
	// Joining again with the same member changes nothing.
	if err := m.Join(ctx, self); err != nil {
		t.Fatal(err)
	}
	if _, i, _ := m.Members(ctx); i != i1 {
		t.Fatalf("index after repeated Join = %d, want %d", i, i1)
	}
	if err := m.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if members, _, _ := m.Members(ctx); len(members) != 0 {
		t.Fatalf("Members after Leave = %v", members)
	}
	if err := m.Leave(ctx); !errors.Is(err, ErrNotJoined) {
		t.Fatalf("second Leave = %v, want ErrNotJoined", err)
	}
}

func TestMembershipWatchMembers(t *testing.T) {
	ctx := context.Background()
	self := cluster.Member{NodeID: 3, Address: "a:1"}
	m := NewMembership(self, WithMembershipWaitTime(testWaitTime))
	_, index, _ := m.Members(ctx)

	// Without a change the wait time passes and the same list comes back.
	members, next, err := m.WatchMembers(ctx, index)
	if err != nil || len(members) != 0 || next != index {
		t.Fatalf("WatchMembers without change = %v index %d, %v", members, next, err)
	}

	done := make(chan []cluster.Member, 1)
	go func() {
		for {
			members, next, err := m.WatchMembers(ctx, index)
			if err != nil {
				done <- nil
				return
			}
			if len(members) == 1 {
				done <- members
				return
			}
			index = next
		}
	}()
	if err := m.Join(ctx, self); err != nil {
		t.Fatal(err)
	}
	if got := <-done; len(got) != 1 || got[0] != self {
		t.Fatalf("WatchMembers woke with %v", got)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, current, _ := m.Members(ctx)
	if _, _, err := m.WatchMembers(cctx, current); !errors.Is(err, context.Canceled) {
		t.Fatalf("WatchMembers with cancelled context = %v", err)
	}
}

func TestMembershipCampaignAndController(t *testing.T) {
	ctx := context.Background()
	self := cluster.Member{NodeID: 7, Address: "a:1"}
	m := NewMembership(self)
	if err := m.Join(ctx, self); err != nil {
		t.Fatal(err)
	}
	lost, err := m.Campaign(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := m.Controller(ctx); err != nil || id != 7 {
		t.Fatalf("Controller = %d, %v; want 7", id, err)
	}
	select {
	case <-lost:
		t.Fatal("lock lost while still a member")
	default:
	}
	if err := m.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	<-lost // Leave releases the lock.
}
