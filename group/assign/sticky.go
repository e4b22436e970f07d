package assign

import "slices"

// CooperativeSticky is Kafka's CooperativeStickyAssignor
// ("cooperative-sticky", KIP-429): it balances partitions over the members
// while keeping as many as it can where they are, and it never hands a
// partition to a new owner while the old owner may still hold it.
//
// The plan is computed in three steps:
//  1. Each member keeps the partitions it owns, if it still subscribes to
//     their topic and the partition still exists. When two members claim a
//     partition, the claim from the newer generation wins.
//  2. Unowned partitions go, in topic/partition order, to the subscribed
//     member with the fewest partitions.
//  3. While some member has at least two more partitions than another
//     member that could take one of them, one partition moves (newly
//     assigned ones first, then owned ones). With equal subscriptions this
//     ends with every member within one partition of the others and moves
//     only what balance requires; with unequal ones it is a best effort.
//
// Finally, a partition whose target member differs from its current owner,
// when that owner is still in the group, is left out of the plan: the owner
// sees it missing from its assignment and revokes it, rejoins, and the
// follow-up rebalance assigns it to its new member. No partition is ever
// owned by two members at once.
type CooperativeSticky struct{}

// Name returns "cooperative-sticky".
func (CooperativeSticky) Name() string { return "cooperative-sticky" }

// Assign implements Assignor.
func (CooperativeSticky) Assign(members []Member, topicPartitions map[string]int32) map[string]map[string][]int32 {
	sorted := sortedMembers(members)
	s := &sticky{
		members:  sorted,
		owner:    make(map[tp]int),
		held:     make([][]holding, len(sorted)),
		eligible: make(map[string][]int),
	}
	for i, m := range sorted {
		for _, t := range m.Topics {
			if !slices.Contains(s.eligible[t], i) {
				s.eligible[t] = append(s.eligible[t], i)
			}
		}
	}
	s.claim(topicPartitions)
	s.keepOwned()
	s.assignUnowned(topicPartitions)
	s.balance()
	return s.plan()
}

// holding is a partition in a member's target, and whether the member owns
// it already (moving it costs a revocation).
type holding struct {
	tp    tp
	owned bool
}

type sticky struct {
	members []Member
	owner   map[tp]int  // partition → index of the member that owns it now
	held    [][]holding // member index → its target partitions
	// eligible lists, by topic, the indexes of the members subscribed to
	// it, in assignor order.
	eligible map[string][]int
}

// claim records the current owner of every existing partition.
func (s *sticky) claim(topicPartitions map[string]int32) {
	for i, m := range s.members {
		for topic, ps := range m.Owned {
			n, ok := topicPartitions[topic]
			if !ok {
				continue
			}
			for _, p := range ps {
				if p < 0 || p >= n {
					continue
				}
				k := tp{topic, p}
				if cur, ok := s.owner[k]; !ok || m.Generation > s.members[cur].Generation {
					s.owner[k] = i
				}
			}
		}
	}
}

// keepOwned starts each member's target from the partitions it owns.
func (s *sticky) keepOwned() {
	for k, i := range s.owner {
		if subscribes(s.members[i], k.topic) {
			s.held[i] = append(s.held[i], holding{tp: k, owned: true})
		}
	}
	for i := range s.held {
		slices.SortFunc(s.held[i], func(a, b holding) int { return compareTP(a.tp, b.tp) })
	}
}

// assignUnowned gives every partition nobody keeps to the least loaded
// subscribed member.
func (s *sticky) assignUnowned(topicPartitions map[string]int32) {
	kept := make(map[tp]bool)
	for _, hs := range s.held {
		for _, h := range hs {
			kept[h.tp] = true
		}
	}
	for _, topic := range subscribedTopics(s.members, topicPartitions) {
		for p := range topicPartitions[topic] {
			k := tp{topic, p}
			if kept[k] {
				continue
			}
			if dst := s.leastLoaded(topic, -1); dst >= 0 {
				s.held[dst] = append(s.held[dst], holding{tp: k})
			}
		}
	}
}

// leastLoaded returns the member subscribed to topic with the fewest
// partitions, other than except; -1 if there is none. Ties go to the first
// in assignor order.
func (s *sticky) leastLoaded(topic string, except int) int {
	best := -1
	for _, i := range s.eligible[topic] {
		if i == except {
			continue
		}
		if best < 0 || len(s.held[i]) < len(s.held[best]) {
			best = i
		}
	}
	return best
}

// balance moves partitions from the most to the least loaded members until
// no single move narrows the gap. Every move lowers the sum of squared
// member loads, so the loop ends.
func (s *sticky) balance() {
	for s.moveOne() {
	}
}

func (s *sticky) moveOne() bool {
	order := make([]int, len(s.members))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(s.held[b]) - len(s.held[a]) })
	if len(order) == 0 || len(s.held[order[0]])-len(s.held[order[len(order)-1]]) <= 1 {
		return false // balanced: no move can narrow the gap
	}
	for _, src := range order {
		if len(s.held[src])-len(s.held[order[len(order)-1]]) <= 1 {
			return false
		}
		// Newly assigned partitions move first: moving them costs nothing.
		for _, owned := range []bool{false, true} {
			for j, h := range s.held[src] {
				if h.owned != owned {
					continue
				}
				dst := s.leastLoaded(h.tp.topic, src)
				if dst >= 0 && len(s.held[dst])+1 < len(s.held[src]) {
					s.held[src] = slices.Delete(s.held[src], j, j+1)
					s.held[dst] = append(s.held[dst], holding{tp: h.tp})
					return true
				}
			}
		}
	}
	return false
}

// plan returns the targets without the partitions still owned by another
// member.
func (s *sticky) plan() map[string]map[string][]int32 {
	plan := emptyPlan(s.members)
	for i, hs := range s.held {
		m := plan[s.members[i].ID]
		for _, h := range hs {
			if o, ok := s.owner[h.tp]; ok && o != i {
				continue
			}
			m[h.tp.topic] = append(m[h.tp.topic], h.tp.partition)
		}
		for _, ps := range m {
			slices.Sort(ps)
		}
	}
	return plan
}
