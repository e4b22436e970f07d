package placement

import (
	"cmp"
	"slices"
)

// Replicas is one partition's replica list (the preferred leader first).
type Replicas struct {
	Topic     string
	Partition int32
	Nodes     []int32
}

// Move is a planned reassignment: the partition's replicas go from From
// to To (the preferred leader first).
type Move struct {
	Topic     string
	Partition int32
	From, To  []int32
}

// maxBalanceSteps bounds the evening-out loop of Balance: each step moves
// one replica or one preferred leader, so a plan never needs more than a
// few per partition.
const maxBalanceSteps = 1 << 20

// Balance plans the moves that spread the replicas of parts evenly over
// nodes, with as few replica moves as it can:
//
//  1. a replica on a node not in nodes (one being decommissioned, or
//     gone) is replaced, in its place in the list, by the node in nodes
//     with the fewest replicas that the partition lacks;
//  2. while some node holds two replicas more than another, one replica
//     moves from the fullest to the emptiest node (from a partition that
//     lacks the emptiest);
//  3. while some node is the preferred leader (first replica) of two
//     partitions more than another, preferred leaders are reordered
//     along a chain of partitions (swapLeader): reorders move no data.
//
// A partition whose replication factor is above len(nodes) cannot be
// placed and keeps what it has. The result lists only partitions whose
// list changed, in the order of parts.
func Balance(parts []Replicas, nodes []int32) []Move {
	nodes = sortedUnique(nodes)
	if len(nodes) == 0 {
		return nil
	}
	in := make(map[int32]bool, len(nodes))
	for _, n := range nodes {
		in[n] = true
	}
	plan := make([][]int32, len(parts))
	load := make(map[int32]int, len(nodes))
	lead := make(map[int32]int, len(nodes))
	for i, p := range parts {
		plan[i] = slices.Clone(p.Nodes)
		for j, n := range p.Nodes {
			if in[n] {
				load[n]++
				if j == 0 {
					lead[n]++
				}
			}
		}
	}
	// 1. Off the nodes that are not in the set.
	for i, p := range parts {
		if len(p.Nodes) > len(nodes) {
			continue
		}
		for j, n := range plan[i] {
			if in[n] {
				continue
			}
			to, ok := emptiest(nodes, load, plan[i])
			if !ok {
				break
			}
			plan[i][j] = to
			load[to]++
			if j == 0 {
				lead[to]++
			}
		}
	}
	// 2. Even out replicas.
	for range maxBalanceSteps {
		full, empty := extremes(nodes, load)
		if load[full]-load[empty] <= 1 || !moveOne(plan, full, empty, load, lead) {
			break
		}
	}
	// 3. Even out preferred leaders by reordering.
	for range maxBalanceSteps {
		full, empty := extremes(nodes, lead)
		if lead[full]-lead[empty] <= 1 || !swapLeader(plan, full, lead) {
			break
		}
	}
	var moves []Move
	for i, p := range parts {
		if !slices.Equal(p.Nodes, plan[i]) {
			moves = append(moves, Move{Topic: p.Topic, Partition: p.Partition, From: slices.Clone(p.Nodes), To: plan[i]})
		}
	}
	return moves
}

// emptiest returns the node of nodes with the least load that is not in
// exclude (ties: the lowest id).
func emptiest(nodes []int32, load map[int32]int, exclude []int32) (int32, bool) {
	best, found := int32(0), false
	for _, n := range nodes {
		if slices.Contains(exclude, n) {
			continue
		}
		if !found || load[n] < load[best] {
			best, found = n, true
		}
	}
	return best, found
}

// extremes returns the most and the least loaded node (ties: the lowest
// id for both).
func extremes(nodes []int32, load map[int32]int) (full, empty int32) {
	full = slices.MaxFunc(nodes, func(a, b int32) int {
		return cmp.Or(cmp.Compare(load[a], load[b]), cmp.Compare(b, a))
	})
	empty = slices.MinFunc(nodes, func(a, b int32) int {
		return cmp.Or(cmp.Compare(load[a], load[b]), cmp.Compare(a, b))
	})
	return full, empty
}

// moveOne moves one replica from full to empty in a partition that has
// full and lacks empty, preferring one where full is not the preferred
// leader; it reports whether it found one.
func moveOne(plan [][]int32, full, empty int32, load, lead map[int32]int) bool {
	pick := -1
	for i, r := range plan {
		j := slices.Index(r, full)
		if j < 0 || slices.Contains(r, empty) {
			continue
		}
		if pick < 0 || j > 0 {
			pick = i
		}
		if j > 0 {
			break
		}
	}
	if pick < 0 {
		return false
	}
	j := slices.Index(plan[pick], full)
	plan[pick][j] = empty
	load[full]--
	load[empty]++
	if j == 0 {
		lead[full]--
		lead[empty]++
	}
	return true
}

// swapLeader moves one preferred leadership away from full by reorders
// only: it looks (breadth first) for a chain full -> a -> ... -> t where
// each node leads a partition that the next one replicates and t leads at
// least two fewer than full, then makes each next node the leader of that
// partition, so only full and t change counts. It reports whether it
// found a chain.
func swapLeader(plan [][]int32, full int32, lead map[int32]int) bool {
	type step struct {
		from int32
		part int
	}
	via := map[int32]step{full: {from: -1, part: -1}}
	queue := []int32{full}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for i, r := range plan {
			if len(r) == 0 || r[0] != n {
				continue
			}
			for _, m := range r[1:] {
				if _, seen := via[m]; seen {
					continue
				}
				via[m] = step{from: n, part: i}
				if lead[m] <= lead[full]-2 {
					for cur := m; cur != full; cur = via[cur].from {
						r := plan[via[cur].part]
						j := slices.Index(r, cur)
						r[0], r[j] = r[j], r[0]
					}
					lead[full]--
					lead[m]++
					return true
				}
				queue = append(queue, m)
			}
		}
	}
	return false
}
