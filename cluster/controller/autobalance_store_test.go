package controller

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

// balancePass runs one pass of the automatic balance with ctl, as the
// controller loop does.
func balancePass(t *testing.T, ctl *Controller, settle BalanceSettle, now time.Time, p BalancePolicy) (BalanceDecision, BalanceSettle) {
	t.Helper()
	view, err := ctl.LoadBalanceView(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d, next := PlanBalance(view, settle, now, p)
	if _, err := ctl.ApplyBalance(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return d, next
}

// catchUp puts every replica of every partition into its ISR, as the
// leaders would once the new followers caught up.
func (f fixture) catchUp(t *testing.T, topic string) {
	t.Helper()
	ctx := context.Background()
	snap, err := metadata.Load(ctx, f.store)
	if err != nil {
		t.Fatal(err)
	}
	for p, replicas := range snap.Topics[topic].Replicas {
		st, _ := snap.State(topic, int32(p))
		if len(st.ISR) == len(replicas) {
			continue
		}
		next := metadata.PartitionState{Leader: st.Leader, LeaderEpoch: st.LeaderEpoch, ISR: slices.Clone(replicas)}
		if _, err := metadata.CASPartitionState(ctx, f.store, topic, int32(p), next, st.Version); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAutoBalanceSurvivesFailover: a controller starts a round for a new
// node; another controller (a failover, fresh memory) carries it on from
// the metadata alone, never starting a move twice nor more than MaxMoves
// at once, until node 4 holds its share and the round record is gone.
func TestAutoBalanceSurvivesFailover(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2, 3)
	f.create(t, "t", 6, 2, nil)
	f.members.set(1, 2, 3, 4)
	p := BalancePolicy{MaxMoves: 2, Settle: time.Second}
	t0 := time.Unix(1000, 0)

	first := f.ctl
	if d, _ := balancePass(t, first, BalanceSettle{}, t0, p); len(d.Moves) != 0 {
		t.Fatalf("moves before the settle delay: %+v", d)
	}
	_, settle := balancePass(t, first, BalanceSettle{}, t0, p)
	d, _ := balancePass(t, first, settle, t0.Add(time.Second), p)
	if !d.StartRound || len(d.Moves) != 2 {
		t.Fatalf("after the settle delay: %+v, want a round of 2 moves", d)
	}

	second := New(f.store, f.members, metadata.DefaultTopicConfig())
	if d, _ := balancePass(t, second, BalanceSettle{}, t0, p); len(d.Moves) != 0 {
		t.Fatalf("new controller started %+v with 2 moves in flight", d)
	}
	seen := map[int32]int{}
	for _, mv := range d.Moves {
		seen[mv.Partition]++
	}
	for range 20 {
		if _, err := second.AdvanceReassignments(ctx); err != nil { // expand
			t.Fatal(err)
		}
		f.catchUp(t, "t")
		if _, err := second.AdvanceReassignments(ctx); err != nil { // complete
			t.Fatal(err)
		}
		d, _ := balancePass(t, second, BalanceSettle{}, t0, p)
		if len(d.Moves) > p.MaxMoves {
			t.Fatalf("%d moves at once, max %d", len(d.Moves), p.MaxMoves)
		}
		for _, mv := range d.Moves {
			seen[mv.Partition]++
		}
		if d.EndRound {
			break
		}
	}
	if _, err := f.store.Get(ctx, BalanceRoundKey); !errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("round record after the balance: %v, want not found", err)
	}
	on := 0
	for p := range int32(6) {
		replicas, _ := f.partitionOf(t, "t", p)
		if slices.Contains(replicas, 4) {
			on++
		}
	}
	if on != 3 {
		t.Fatalf("node 4 holds %d of 12 replicas, want 3", on)
	}
	for part, n := range seen {
		if n > 1 {
			t.Fatalf("partition %d moved %d times", part, n)
		}
	}
}

// TestDecommissionRecord: recording twice is no error, new topics place
// nothing on the node, and a cancel puts it back.
func TestDecommissionRecord(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2, 3, 4)
	for range 2 {
		if resp := f.ctl.Decommission(ctx, &messages.DecommissionNodeRequest{NodeId: 4}); resp.ErrorCode != messages.ErrorCode_NONE {
			t.Fatalf("decommission: %v %s", resp.ErrorCode, resp.ErrorMessage)
		}
	}
	f.create(t, "after", 8, 3, nil)
	for p := range int32(8) {
		if replicas, _ := f.partitionOf(t, "after", p); slices.Contains(replicas, 4) {
			t.Fatalf("partition %d placed on decommissioned node 4: %v", p, replicas)
		}
	}
	for range 2 {
		if resp := f.ctl.Decommission(ctx, &messages.DecommissionNodeRequest{NodeId: 4, Cancel: true}); resp.ErrorCode != messages.ErrorCode_NONE {
			t.Fatalf("cancel: %v %s", resp.ErrorCode, resp.ErrorMessage)
		}
	}
	f.create(t, "back", 8, 3, nil)
	on := 0
	for p := range int32(8) {
		if replicas, _ := f.partitionOf(t, "back", p); slices.Contains(replicas, 4) {
			on++
		}
	}
	if on == 0 {
		t.Fatal("no replica placed on node 4 after the cancel")
	}
}
