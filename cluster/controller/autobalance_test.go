package controller

import (
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster/placement"
)

// threeNodeView is six partitions of replication factor 2 spread over
// nodes 1-3, all in sync, with live listing the live nodes.
func threeNodeView(live ...int32) BalanceView {
	lists := [][]int32{{1, 2}, {2, 3}, {3, 1}, {1, 3}, {2, 1}, {3, 2}}
	v := BalanceView{Live: live, Decommissioned: map[int32]bool{}}
	for i, nodes := range lists {
		v.Parts = append(v.Parts, BalancePart{Replicas: placement.Replicas{Topic: "t", Partition: int32(i), Nodes: nodes}, InSync: true})
	}
	return v
}

var policy = BalancePolicy{MaxMoves: 2, Settle: 30 * time.Second}

func TestPlanBalanceNewNodeAfterSettle(t *testing.T) {
	t0 := time.Unix(1000, 0)
	view := threeNodeView(1, 2, 3, 4)
	d, settle := PlanBalance(view, BalanceSettle{}, t0, policy)
	if len(d.Moves) != 0 || d.StartRound {
		t.Fatalf("acted before the settle delay: %+v", d)
	}
	d, settle = PlanBalance(view, settle, t0.Add(29*time.Second), policy)
	if len(d.Moves) != 0 || d.StartRound {
		t.Fatalf("acted before the settle delay: %+v", d)
	}
	d, _ = PlanBalance(view, settle, t0.Add(30*time.Second), policy)
	if !d.StartRound || len(d.Moves) != policy.MaxMoves {
		t.Fatalf("once the new node waited: %+v, want a round and %d moves", d, policy.MaxMoves)
	}
	for _, mv := range d.Moves {
		if !slices.Contains(mv.To, 4) {
			t.Fatalf("move %v does not add node 4", mv)
		}
	}

	// The round goes on without the trigger (node 4 holds a replica
	// now), with no settle delay, until the plan is empty.
	view.Round = true
	view.Parts[0].Nodes = []int32{4, 2}
	d, _ = PlanBalance(view, BalanceSettle{}, t0, policy)
	if d.StartRound || d.EndRound || len(d.Moves) == 0 {
		t.Fatalf("round under way: %+v, want more moves", d)
	}
	balanced := BalanceView{Live: []int32{1, 2, 3, 4}, Round: true}
	for i, nodes := range [][]int32{{1, 2}, {3, 4}, {2, 1}, {4, 3}} {
		balanced.Parts = append(balanced.Parts, BalancePart{Replicas: placement.Replicas{Topic: "t", Partition: int32(i), Nodes: nodes}, InSync: true})
	}
	if d, _ := PlanBalance(balanced, BalanceSettle{}, t0, policy); !d.EndRound || len(d.Moves) != 0 {
		t.Fatalf("balanced: %+v, want the round ended", d)
	}
}

// TestPlanBalanceRestartWithinSettle: a node that goes away and comes
// back starts the wait again, and while a node holding replicas is down
// nothing moves at all.
func TestPlanBalanceRestartWithinSettle(t *testing.T) {
	t0 := time.Unix(1000, 0)
	_, settle := PlanBalance(threeNodeView(1, 2, 3, 4), BalanceSettle{}, t0, policy)
	// Node 4 restarts: gone for a moment.
	d, settle := PlanBalance(threeNodeView(1, 2, 3), settle, t0.Add(10*time.Second), policy)
	if len(d.Moves) != 0 || d.StartRound {
		t.Fatalf("acted while balanced: %+v", d)
	}
	d, settle = PlanBalance(threeNodeView(1, 2, 3, 4), settle, t0.Add(35*time.Second), policy)
	if len(d.Moves) != 0 || d.StartRound {
		t.Fatalf("acted %+v 25s after node 4 came back, settle delay 30s", d)
	}
	d, _ = PlanBalance(threeNodeView(1, 2, 3, 4), settle, t0.Add(65*time.Second), policy)
	if len(d.Moves) == 0 {
		t.Fatal("no moves once node 4 stayed for the settle delay")
	}

	// Node 3 down (a restart, not decommissioned): nothing moves, ever,
	// not even in a round.
	down := threeNodeView(1, 2)
	down.Round = true
	_, settle = PlanBalance(down, BalanceSettle{}, t0, policy)
	if d, _ := PlanBalance(down, settle, t0.Add(time.Hour), policy); len(d.Moves) != 0 || d.EndRound {
		t.Fatalf("acted %+v while node 3 is down", d)
	}
}

// TestPlanBalanceUnevenIsLeftAlone: an imbalance with no new node and no
// decommission (topics created unevenly) is not the automatic balance's
// business.
func TestPlanBalanceUnevenIsLeftAlone(t *testing.T) {
	t0 := time.Unix(1000, 0)
	view := BalanceView{Live: []int32{1, 2, 3}}
	for i, nodes := range [][]int32{{1}, {1}, {1}, {1}, {2}, {3}} {
		view.Parts = append(view.Parts, BalancePart{Replicas: placement.Replicas{Topic: "t", Partition: int32(i), Nodes: nodes}, InSync: true})
	}
	_, settle := PlanBalance(view, BalanceSettle{}, t0, policy)
	if d, _ := PlanBalance(view, settle, t0.Add(time.Hour), policy); len(d.Moves) != 0 || d.StartRound {
		t.Fatalf("acted %+v on an uneven placement with no new node", d)
	}
}

func TestPlanBalanceWaitsForSyncAndMoves(t *testing.T) {
	t0 := time.Unix(1000, 0)
	view := threeNodeView(1, 2, 3, 4)
	view.Parts[0].InSync = false
	_, settle := PlanBalance(view, BalanceSettle{}, t0, policy)
	if d, _ := PlanBalance(view, settle, t0.Add(time.Hour), policy); len(d.Moves) != 0 {
		t.Fatalf("moves %v while a partition is out of sync", d.Moves)
	}
	// Two moves in progress (targets counted): no room for a third.
	view = threeNodeView(1, 2, 3, 4)
	view.Round = true
	view.Parts[0].Nodes, view.Parts[0].Moving, view.Parts[0].InSync = []int32{4, 2}, true, false
	view.Parts[1].Nodes, view.Parts[1].Moving, view.Parts[1].InSync = []int32{2, 4}, true, false
	if d, _ := PlanBalance(view, BalanceSettle{}, t0, policy); len(d.Moves) != 0 {
		t.Fatalf("moves %v with max_moves already in progress", d.Moves)
	}
	// One in progress: one more, not touching the moving partition.
	view.Parts[1] = threeNodeView(1, 2, 3, 4).Parts[1]
	d, _ := PlanBalance(view, BalanceSettle{}, t0, policy)
	if len(d.Moves) != 1 || d.Moves[0].Partition == 0 {
		t.Fatalf("moves %v, want one, not of partition 0", d.Moves)
	}
}

func TestPlanBalanceDecommissioned(t *testing.T) {
	t0 := time.Unix(1000, 0)
	view := threeNodeView(1, 2, 3)
	view.Live = append(view.Live, 4)
	view.Decommissioned[3] = true
	// No settle delay for a decommission: the round starts at once.
	d, _ := PlanBalance(view, BalanceSettle{}, t0, BalancePolicy{MaxMoves: 100, Settle: time.Hour})
	if !d.StartRound {
		t.Fatalf("decommission: %+v, want a round", d)
	}
	moved := map[int32]bool{}
	for _, mv := range d.Moves {
		if slices.Contains(mv.To, 3) {
			t.Fatalf("move %v keeps decommissioned node 3", mv)
		}
		moved[mv.Partition] = true
	}
	for _, p := range view.Parts {
		if slices.Contains(p.Nodes, 3) && !moved[p.Partition] {
			t.Fatalf("partition %d stays on node 3", p.Partition)
		}
	}
	// A decommissioned node that is down still has its replicas moved.
	view.Live = []int32{1, 2, 4}
	if d, _ := PlanBalance(view, BalanceSettle{}, t0, policy); len(d.Moves) == 0 {
		t.Fatal("no moves off a decommissioned node that is down")
	}
}
