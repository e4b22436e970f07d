package placement

import (
	"fmt"
	"slices"
	"testing"
)

// applyMoves returns parts with the moves applied.
func applyMoves(parts []Replicas, moves []Move) []Replicas {
	out := slices.Clone(parts)
	for _, m := range moves {
		for i := range out {
			if out[i].Topic == m.Topic && out[i].Partition == m.Partition {
				out[i].Nodes = m.To
			}
		}
	}
	return out
}

// checkBalanced checks the invariants of a plan: replication factors
// kept, replicas distinct and on nodes, replicas and preferred leaders
// within one of each other per node.
func checkBalanced(t *testing.T, before, after []Replicas, nodes []int32) {
	t.Helper()
	load, lead := map[int32]int{}, map[int32]int{}
	for i, p := range after {
		if len(p.Nodes) != len(before[i].Nodes) {
			t.Fatalf("%s/%d: replication factor %d, was %d", p.Topic, p.Partition, len(p.Nodes), len(before[i].Nodes))
		}
		for j, n := range p.Nodes {
			if !slices.Contains(nodes, n) || slices.Contains(p.Nodes[:j], n) {
				t.Fatalf("%s/%d: replicas %v (nodes %v)", p.Topic, p.Partition, p.Nodes, nodes)
			}
			load[n]++
		}
		lead[p.Nodes[0]]++
	}
	spread := func(m map[int32]int) int {
		lo, hi := 1<<30, 0
		for _, n := range nodes {
			lo, hi = min(lo, m[n]), max(hi, m[n])
		}
		return hi - lo
	}
	if spread(load) > 1 || spread(lead) > 1 {
		t.Fatalf("not balanced: replicas %v, preferred leaders %v", load, lead)
	}
}

// replicaMoves counts replicas placed on a node that did not have them.
func replicaMoves(moves []Move) int {
	n := 0
	for _, m := range moves {
		for _, id := range m.To {
			if !slices.Contains(m.From, id) {
				n++
			}
		}
	}
	return n
}

func parts(assign [][]int32) []Replicas {
	out := make([]Replicas, len(assign))
	for i, r := range assign {
		out[i] = Replicas{Topic: "t", Partition: int32(i), Nodes: r}
	}
	return out
}

func TestPlacementBalance(t *testing.T) {
	three, err := Assign([]int32{1, 2, 3}, 6, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	four, err := Assign([]int32{1, 2, 3, 4}, 8, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		parts     []Replicas
		nodes     []int32
		wantMoves int // replicas copied to a new node
	}{
		// Node 4 joins three nodes holding 18 replicas: it gets 4 of them.
		{"a node joins", parts(three), []int32{1, 2, 3, 4}, 4},
		// Node 3 leaves four: its 4 replicas go to the other three.
		{"a node is decommissioned", parts(four), []int32{1, 2, 4}, 4},
		// Already balanced: nothing.
		{"balanced", parts(three), []int32{1, 2, 3}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			moves := Balance(tc.parts, tc.nodes)
			after := applyMoves(tc.parts, moves)
			checkBalanced(t, tc.parts, after, tc.nodes)
			if got := replicaMoves(moves); got != tc.wantMoves {
				t.Fatalf("%d replicas moved, want %d: %v", got, tc.wantMoves, moves)
			}
			if again := Balance(after, tc.nodes); len(again) != 0 {
				t.Fatalf("a balanced plan plans again: %v", again)
			}
		})
	}
}

func TestPlacementBalanceCannotPlace(t *testing.T) {
	p := []Replicas{{Topic: "t", Partition: 0, Nodes: []int32{1, 2, 3}}}
	if moves := Balance(p, []int32{1, 2}); len(moves) != 0 {
		t.Fatalf("replication factor 3 on two nodes planned %v", moves)
	}
	if moves := Balance(p, nil); len(moves) != 0 {
		t.Fatalf("no nodes planned %v", moves)
	}
}

// Randomised: any assignment over some nodes, balanced over another set.
func TestPlacementBalanceProperties(t *testing.T) {
	for seed := range 200 {
		n := 2 + seed%5
		rf := 1 + seed%3
		if rf > n {
			rf = n
		}
		nodes := make([]int32, n)
		for i := range nodes {
			nodes[i] = int32(i + 1)
		}
		assign, err := Assign(nodes[:max(rf, n-seed%2)], 1+seed%17, rf, seed)
		if err != nil {
			t.Fatal(err)
		}
		target := nodes
		if seed%3 == 0 && n > rf {
			target = slices.Delete(slices.Clone(nodes), seed%n, seed%n+1) // decommission one
		}
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			ps := parts(assign)
			after := applyMoves(ps, Balance(ps, target))
			checkBalanced(t, ps, after, target)
		})
	}
}
