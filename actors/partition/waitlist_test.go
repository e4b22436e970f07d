package partition

import (
	"slices"
	"testing"
)

func TestFetchWaitListReady(t *testing.T) {
	tests := []struct {
		name      string
		parks     [][2]int64 // mark, needBytes
		committed int64
		wantReady []int // values (park order index) ready, oldest first
	}{
		{"none parked", nil, 100, nil},
		// A fetch needs needBytes committed after its mark.
		{"not enough yet", [][2]int64{{0, 10}}, 9, nil},
		{"exactly enough", [][2]int64{{0, 10}}, 10, []int{0}},
		// Marks differ: the same commit satisfies the fetches parked
		// earliest or needing least.
		{"mixed", [][2]int64{{0, 50}, {40, 5}, {45, 100}, {10, 1}}, 50, []int{0, 1, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w fetchWaitList[int]
			for i, p := range tt.parks {
				if id := w.park(p[0], p[1], i); id == 0 {
					t.Fatal("park returned id 0")
				}
			}
			var got []int
			for _, f := range w.ready(tt.committed) {
				got = append(got, f.value)
			}
			if !slices.Equal(got, tt.wantReady) {
				t.Fatalf("ready %v, want %v", got, tt.wantReady)
			}
			if w.len() != len(tt.parks)-len(tt.wantReady) {
				t.Fatalf("%d left, want %d", w.len(), len(tt.parks)-len(tt.wantReady))
			}
		})
	}
}

func TestFetchWaitListExpireAfterReady(t *testing.T) {
	var w fetchWaitList[string]
	a := w.park(0, 10, "a")
	b := w.park(0, 20, "b")
	if got := w.ready(15); len(got) != 1 || got[0].id != a {
		t.Fatalf("ready %+v, want only a", got)
	}
	// a's timer fires after it was answered: nothing to do.
	if _, ok := w.expire(a); ok {
		t.Fatal("expire of an answered fetch succeeded")
	}
	if f, ok := w.expire(b); !ok || f.value != "b" {
		t.Fatalf("expire b: %+v %v", f, ok)
	}
	if len(w.drain()) != 0 {
		t.Fatal("drain after expiring everything returned fetches")
	}
}

func TestAckQueue(t *testing.T) {
	var q ackQueue[int]
	for i, last := range []int64{2, 5, 5, 9} {
		q.push(last, i)
	}
	tests := []struct {
		name string
		op   func() []int
		want []int
	}{
		{"nothing below 2", func() []int { return q.committed(2) }, nil},
		{"below 6", func() []int { return q.committed(6) }, []int{0, 1, 2}},
		{"through 8", func() []int { return q.through(8) }, nil},
		{"through 9", func() []int { return q.through(9) }, []int{3}},
		{"empty drain", q.drain, nil},
	}
	for _, tt := range tests {
		if got := tt.op(); !slices.Equal(got, tt.want) {
			t.Fatalf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
