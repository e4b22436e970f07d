package placement

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/sluice-mq/sluice/messages"
)

func TestAssignKafkaExample(t *testing.T) {
	// The assignment Kafka documents for 5 brokers, 10 partitions, RF 3.
	got, err := Assign([]int32{4, 2, 0, 3, 1}, 10, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int32{
		{0, 1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 0}, {4, 0, 1},
		{0, 2, 3}, {1, 3, 4}, {2, 4, 0}, {3, 0, 1}, {4, 1, 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Assign = %v\nwant     %v", got, want)
	}
}

func TestAssignStartIndexRotates(t *testing.T) {
	got, err := Assign([]int32{10, 20, 30}, 3, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := [][]int32{{20}, {30}, {10}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Assign start 1 = %v, want %v", got, want)
	}
	neg, err := Assign([]int32{10, 20, 30}, 3, 1, -2)
	if err != nil || !reflect.DeepEqual(neg, got) {
		t.Fatalf("start -2 = %v, %v; want same as start 1", neg, err)
	}
}

// checkSpread asserts the invariants of an assignment: rf distinct live
// replicas per partition; leaders per node differ by at most one; over whole
// rounds (partitions a multiple of the node count) every node holds the same
// number of replicas, and within a partial round no node holds more than rf
// replicas above another.
func checkSpread(t *testing.T, nodes []int32, got [][]int32, partitions, rf int) {
	t.Helper()
	if len(got) != partitions {
		t.Fatalf("%d partitions, want %d", len(got), partitions)
	}
	live := map[int32]bool{}
	for _, n := range nodes {
		live[n] = true
	}
	leaders := map[int32]int{}
	replicas := map[int32]int{}
	for p, r := range got {
		if len(r) != rf {
			t.Fatalf("partition %d has %d replicas, want %d", p, len(r), rf)
		}
		seen := map[int32]bool{}
		for _, n := range r {
			if seen[n] || !live[n] {
				t.Fatalf("partition %d replicas %v: duplicate or unknown node %d", p, r, n)
			}
			seen[n] = true
			replicas[n]++
		}
		leaders[r[0]]++
	}
	spread := func(counts map[int32]int) int {
		lo, hi := -1, 0
		for _, n := range nodes {
			c := counts[n]
			if lo < 0 || c < lo {
				lo = c
			}
			if c > hi {
				hi = c
			}
		}
		return hi - lo
	}
	if s := spread(leaders); s > 1 {
		t.Fatalf("leaders %v spread %d over nodes %v", leaders, s, nodes)
	}
	limit := rf
	if partitions%len(nodes) == 0 {
		limit = 0
	}
	if s := spread(replicas); s > limit {
		t.Fatalf("replicas %v spread %d (limit %d) over nodes %v", replicas, s, limit, nodes)
	}
}

func TestAssignSpread(t *testing.T) {
	for n := 1; n <= 6; n++ {
		nodes := make([]int32, n)
		for i := range nodes {
			nodes[i] = int32(i + 1)
		}
		for rf := 1; rf <= n; rf++ {
			for partitions := 1; partitions <= 3*n; partitions++ {
				for start := 0; start < n; start++ {
					t.Run(fmt.Sprintf("n%d/rf%d/p%d/s%d", n, rf, partitions, start), func(t *testing.T) {
						got, err := Assign(nodes, partitions, rf, start)
						if err != nil {
							t.Fatal(err)
						}
						checkSpread(t, nodes, got, partitions, rf)
					})
				}
			}
		}
	}
}

func TestAssignErrors(t *testing.T) {
	cases := []struct {
		nodes      []int32
		partitions int
		rf         int
		want       error
	}{
		{[]int32{1, 2}, 0, 1, messages.ErrInvalidPartitions},
		{[]int32{1, 2}, -3, 1, messages.ErrInvalidPartitions},
		{[]int32{1, 2}, 1, 0, messages.ErrInvalidReplicationFactor},
		{[]int32{1, 2}, 1, 3, messages.ErrInvalidReplicationFactor},
		{[]int32{1, 1, 1}, 1, 2, messages.ErrInvalidReplicationFactor}, // duplicates count once
		{nil, 1, 1, messages.ErrInvalidReplicationFactor},
	}
	for _, tc := range cases {
		if _, err := Assign(tc.nodes, tc.partitions, tc.rf, 0); !errors.Is(err, tc.want) {
			t.Errorf("Assign(%v, %d, %d) = %v, want %v", tc.nodes, tc.partitions, tc.rf, err, tc.want)
		}
	}
}

func TestAssignAdditionalContinuesRotation(t *testing.T) {
	nodes := []int32{1, 2, 3, 4, 5}
	for start := 0; start < len(nodes); start++ {
		whole, err := Assign(nodes, 10, 3, start)
		if err != nil {
			t.Fatal(err)
		}
		added, err := AssignAdditional(whole[:4], nodes, 10)
		if err != nil {
			t.Fatal(err)
		}
		// Growing 4 → 10 gives what creating 10 at once would have.
		if !reflect.DeepEqual(append(whole[:4:4], added...), whole) {
			t.Fatalf("start %d: grown %v, created %v", start, append(whole[:4:4], added...), whole)
		}
	}
}

func TestAssignAdditionalNewNodes(t *testing.T) {
	existing, err := Assign([]int32{1, 2}, 2, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	nodes := []int32{1, 2, 3, 4}
	added, err := AssignAdditional(existing, nodes, 8)
	if err != nil {
		t.Fatal(err)
	}
	checkSpread(t, nodes, added[2:], 4, 2) // a full round over the new node set
	if len(added) != 6 {
		t.Fatalf("added %d partitions, want 6", len(added))
	}
	// Partition 0's leader gone: the rotation starts at the next node up.
	added, err = AssignAdditional([][]int32{{2, 3}}, []int32{1, 3, 4}, 2)
	if err != nil || !reflect.DeepEqual(added[0], []int32{4, 3}) {
		t.Fatalf("added %v, %v; want [[4 3]]", added, err)
	}
}

func TestAssignAdditionalErrors(t *testing.T) {
	existing := [][]int32{{1, 2}, {2, 1}}
	cases := []struct {
		existing [][]int32
		nodes    []int32
		total    int
		want     error
	}{
		{existing, []int32{1, 2}, 2, messages.ErrInvalidPartitions},
		{existing, []int32{1, 2}, 1, messages.ErrInvalidPartitions},
		{nil, []int32{1, 2}, 3, messages.ErrInvalidPartitions},
		{existing, []int32{1}, 3, messages.ErrInvalidReplicationFactor},
	}
	for _, tc := range cases {
		if _, err := AssignAdditional(tc.existing, tc.nodes, tc.total); !errors.Is(err, tc.want) {
			t.Errorf("AssignAdditional(%v, %v, %d) = %v, want %v", tc.existing, tc.nodes, tc.total, err, tc.want)
		}
	}
}
