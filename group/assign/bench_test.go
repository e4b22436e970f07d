package assign

import (
	"fmt"
	"testing"
)

// benchGroup returns n members subscribed to topics topics of parts
// partitions each; the first owner members own everything, round robin.
func benchGroup(n, topics int, parts int32, owners int) ([]Member, map[string]int32) {
	tps := map[string]int32{}
	var names []string
	for i := range topics {
		name := fmt.Sprintf("topic-%03d", i)
		names = append(names, name)
		tps[name] = parts
	}
	ms := make([]Member, n)
	for i := range ms {
		ms[i] = Member{ID: fmt.Sprintf("member-%04d", i), Topics: names, Generation: -1}
	}
	if owners > 0 {
		k := 0
		for _, t := range names {
			for p := range parts {
				m := &ms[k%owners]
				if m.Owned == nil {
					m.Owned = map[string][]int32{}
				}
				m.Owned[t] = append(m.Owned[t], p)
				m.Generation = 1
				k++
			}
		}
	}
	return ms, tps
}

func benchAssign(b *testing.B, a Assignor, n, topics int, parts int32, owners int) {
	ms, tps := benchGroup(n, topics, parts, owners)
	b.ReportAllocs()
	for b.Loop() {
		a.Assign(ms, tps)
	}
}

func BenchmarkRange100Members1000Partitions(b *testing.B) {
	benchAssign(b, Range{}, 100, 10, 100, 0)
}

func BenchmarkRoundRobin100Members1000Partitions(b *testing.B) {
	benchAssign(b, RoundRobin{}, 100, 10, 100, 0)
}

func BenchmarkCooperativeStickyFresh100Members1000Partitions(b *testing.B) {
	benchAssign(b, CooperativeSticky{}, 100, 10, 100, 0)
}

// A stable group: nothing moves.
func BenchmarkCooperativeStickyStable100Members1000Partitions(b *testing.B) {
	benchAssign(b, CooperativeSticky{}, 100, 10, 100, 100)
}

// Half the group is new: half the partitions move.
func BenchmarkCooperativeStickyScaleOut100Members1000Partitions(b *testing.B) {
	benchAssign(b, CooperativeSticky{}, 100, 10, 100, 50)
}
