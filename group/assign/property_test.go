package assign

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// scenario is a random group: topics with partition counts and members with
// subscriptions.
type scenario struct {
	topics  map[string]int32
	members []Member
	equal   bool // every member subscribes to the same topics
}

func randomScenario(rng *rand.Rand) scenario {
	s := scenario{topics: map[string]int32{}, equal: rng.IntN(2) == 0}
	names := []string{"a", "b", "c", "d"}[:1+rng.IntN(4)]
	for _, n := range names {
		s.topics[n] = int32(rng.IntN(13))
	}
	common := randomSubset(rng, names)
	for i := range 1 + rng.IntN(7) {
		m := Member{ID: fmt.Sprintf("m%02d", i), Generation: -1, Topics: common}
		if !s.equal {
			m.Topics = randomSubset(rng, append(names, "unknown"))
		}
		if rng.IntN(4) == 0 {
			m.InstanceID = fmt.Sprintf("i%d", rng.IntN(100))
		}
		s.members = append(s.members, m)
	}
	return s
}

func randomSubset(rng *rand.Rand, names []string) []string {
	var out []string
	for _, n := range names {
		if rng.IntN(2) == 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		out = append(out, names[rng.IntN(len(names))])
	}
	return out
}

// checkValid checks what every assignor promises: an entry per member, no
// partition twice, only existing partitions of subscribed topics.
func checkValid(t *testing.T, members []Member, topics map[string]int32, p plan) map[tp]string {
	t.Helper()
	if len(p) != len(members) {
		t.Fatalf("plan has %d entries for %d members", len(p), len(members))
	}
	owner := map[tp]string{}
	for _, m := range members {
		for topic, ps := range p[m.ID] {
			if !subscribes(m, topic) {
				t.Fatalf("%s got unsubscribed topic %s", m.ID, topic)
			}
			if !slices.IsSorted(ps) {
				t.Fatalf("%s: unsorted %v", m.ID, ps)
			}
			for _, x := range ps {
				if x < 0 || x >= topics[topic] {
					t.Fatalf("%s got nonexistent %s-%d", m.ID, topic, x)
				}
				k := tp{topic, x}
				if o, dup := owner[k]; dup {
					t.Fatalf("%s-%d given to %s and %s", topic, x, o, m.ID)
				}
				owner[k] = m.ID
			}
		}
	}
	return owner
}

// subscribedPartitions lists the existing partitions some member subscribes to.
func subscribedPartitions(members []Member, topics map[string]int32) []tp {
	var out []tp
	for _, topic := range subscribedTopics(members, topics) {
		for x := range topics[topic] {
			out = append(out, tp{topic, x})
		}
	}
	return out
}

func TestAssignorPropertyEagerCompleteAndValid(t *testing.T) {
	for seed := range uint64(500) {
		rng := rand.New(rand.NewPCG(seed, 1))
		s := randomScenario(rng)
		for _, a := range []Assignor{Range{}, RoundRobin{}} {
			p := a.Assign(s.members, s.topics)
			owner := checkValid(t, s.members, s.topics, p)
			for _, k := range subscribedPartitions(s.members, s.topics) {
				if _, ok := owner[k]; !ok {
					t.Fatalf("seed %d %s: %v unassigned in %v", seed, a.Name(), k, p)
				}
			}
			// Range balances each topic on its own, so only round robin
			// balances the totals.
			if s.equal && a.Name() == "roundrobin" {
				checkBalanced(t, s.members, p)
			}
		}
	}
}

func counts(members []Member, p plan) []int {
	var c []int
	for _, m := range members {
		n := 0
		for _, ps := range p[m.ID] {
			n += len(ps)
		}
		c = append(c, n)
	}
	return c
}

func checkBalanced(t *testing.T, members []Member, p plan) {
	t.Helper()
	c := counts(members, p)
	if slices.Max(c)-slices.Min(c) > 1 {
		t.Fatalf("unbalanced %v: %v", c, p)
	}
}

// TestCooperativeStickyProperty runs random groups through several
// generations of churn (members join and leave, topics grow) and checks,
// every round, KIP-429's rules, balance and stickiness.
func TestCooperativeStickyProperty(t *testing.T) {
	stats = struct{ withheldRounds int }{}
	for seed := range uint64(400) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 2))
			s := randomScenario(rng)
			gen := int32(0)
			for range 6 {
				gen = cooperativeRounds(t, &s, gen)
				churn(rng, &s)
			}
		})
	}
	// The scenarios must exercise revocation, or the test proves little.
	t.Logf("%d rounds withheld partitions", stats.withheldRounds)
	if stats.withheldRounds < 100 {
		t.Fatalf("only %d rounds withheld partitions", stats.withheldRounds)
	}
}

var stats struct{ withheldRounds int }

// cooperativeRounds rebalances until nothing is withheld, members adopting
// each plan as what they own, and returns the last generation.
func cooperativeRounds(t *testing.T, s *scenario, gen int32) int32 {
	t.Helper()
	for round := 0; ; round++ {
		gen++
		p := CooperativeSticky{}.Assign(s.members, s.topics)
		owner := checkValid(t, s.members, s.topics, p)
		claims := currentOwners(s.members, s.topics)
		withheld := 0
		for _, k := range subscribedPartitions(s.members, s.topics) {
			got, assigned := owner[k]
			prev, owned := claims[k]
			switch {
			case assigned && owned && got != prev:
				t.Fatalf("%v moved from %s to %s in one round", k, prev, got)
			case !assigned && !owned:
				t.Fatalf("unowned %v left unassigned: %v", k, p)
			case !assigned:
				withheld++
			}
		}
		if s.equal {
			checkSticky(t, *s, claims, owner)
		}
		// Members revoke what they lost and own their assignment.
		for i := range s.members {
			s.members[i].Owned = p[s.members[i].ID]
			s.members[i].Generation = gen
		}
		if withheld == 0 {
			if s.equal {
				checkBalanced(t, s.members, p)
			}
			return gen
		}
		// KIP-429: one follow-up rebalance hands over what was revoked.
		if round >= 1 && s.equal {
			t.Fatalf("still %d partitions withheld after round %d", withheld, round+1)
		}
		if round >= 4 {
			t.Fatalf("no convergence after %d rounds", round+1)
		}
		stats.withheldRounds++
	}
}

// currentOwners resolves claims as the assignor must: existing partitions,
// newest generation first, ties to the first member in assignor order.
func currentOwners(members []Member, topics map[string]int32) map[tp]string {
	out := map[tp]string{}
	gen := map[tp]int32{}
	for _, m := range sortedMembers(members) {
		for topic, ps := range m.Owned {
			for _, x := range ps {
				if x < 0 || x >= topics[topic] {
					continue
				}
				k := tp{topic, x}
				if _, ok := out[k]; !ok || m.Generation > gen[k] {
					out[k], gen[k] = m.ID, m.Generation
				}
			}
		}
	}
	return out
}

// checkSticky checks, for equal subscriptions, that the plan keeps as many
// owned partitions in place as a balanced plan can: the members owning the
// most may keep up to ceil(P/N), the others floor(P/N).
func checkSticky(t *testing.T, s scenario, claims map[tp]string, owner map[tp]string) {
	t.Helper()
	total := len(subscribedPartitions(s.members, s.topics))
	n := len(s.members)
	owned := map[string]int{}
	kept := 0
	for k, m := range claims {
		if !subscribes(memberByID(s.members, m), k.topic) {
			continue
		}
		owned[m]++
		if owner[k] == m {
			kept++
		}
	}
	var ownedCounts []int
	for _, m := range s.members {
		ownedCounts = append(ownedCounts, owned[m.ID])
	}
	slices.Sort(ownedCounts)
	slices.Reverse(ownedCounts)
	best := 0
	for i, c := range ownedCounts {
		quota := total / n
		if i < total%n {
			quota++
		}
		best += min(c, quota)
	}
	if kept < best {
		t.Fatalf("kept %d owned partitions in place, a balanced plan keeps %d", kept, best)
	}
}

func memberByID(ms []Member, id string) Member {
	for _, m := range ms {
		if m.ID == id {
			return m
		}
	}
	return Member{}
}

// churn removes, adds or resubscribes members and grows topics.
func churn(rng *rand.Rand, s *scenario) {
	switch rng.IntN(4) {
	case 0:
		if len(s.members) > 1 {
			i := rng.IntN(len(s.members))
			s.members = slices.Delete(s.members, i, i+1)
		}
	case 1:
		m := Member{ID: fmt.Sprintf("n%03d", rng.IntN(1000)), Generation: -1, Topics: s.members[0].Topics}
		if !s.equal {
			m.Topics = randomSubset(rng, []string{"a", "b", "c", "d"})
		}
		if memberByID(s.members, m.ID).ID == "" {
			s.members = append(s.members, m)
		}
	case 2:
		for topic := range s.topics {
			s.topics[topic] += int32(rng.IntN(3))
		}
	case 3:
		if !s.equal {
			i := rng.IntN(len(s.members))
			s.members[i].Topics = randomSubset(rng, []string{"a", "b", "c", "d"})
		}
	}
}

func TestCooperativeStickyDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for range 50 {
		s := randomScenario(rng)
		first := CooperativeSticky{}.Assign(s.members, s.topics)
		shuffled := slices.Clone(s.members)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if again := (CooperativeSticky{}).Assign(shuffled, s.topics); fmt.Sprint(again) != fmt.Sprint(first) {
			t.Fatalf("member order changed the plan: %v vs %v", first, again)
		}
	}
}
