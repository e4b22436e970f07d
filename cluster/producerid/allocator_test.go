package producerid

import (
	"math/rand/v2"
	"testing"
)

func TestAllocatorScript(t *testing.T) {
	a := NewAllocator(10)
	if _, ok := a.Next(); ok {
		t.Fatal("Next without a block")
	}
	if !a.Prefetch() || a.Prefetch() || !a.Claiming() {
		t.Fatal("an empty allocator wants exactly one claim at a time")
	}
	a.ClaimFailed()
	if !a.Prefetch() {
		t.Fatal("no new claim after a failed one")
	}
	a.Claimed(Block{Start: 100, Size: 10})
	for want := int64(100); want < 109; want++ {
		if id, ok := a.Next(); !ok || id != want {
			t.Fatalf("Next = %d, %v; want %d", id, ok, want)
		}
		// A tenth of the block (1 id) left is the prefetch point.
		if got := a.Prefetch(); got != (want == 108) {
			t.Fatalf("after id %d Prefetch = %v", want, got)
		}
	}
	if a.Available() != 1 {
		t.Fatalf("Available = %d, want 1", a.Available())
	}
	// The prefetched spare is used once the current block runs out.
	a.Claimed(Block{Start: 500, Size: 10})
	if a.Prefetch() {
		t.Fatal("a claim wanted while a spare is held")
	}
	for _, want := range []int64{109, 500, 501} {
		if id, ok := a.Next(); !ok || id != want {
			t.Fatalf("Next = %d, %v; want %d", id, ok, want)
		}
	}
	if a.Available() != 8 {
		t.Fatalf("Available = %d, want 8", a.Available())
	}
}

// TestAllocatorRandomized checks the invariants over random interleavings:
// every id handed out is unique, comes from a claimed block, and ids of
// one block come out in order.
func TestAllocatorRandomized(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		size := int64(1 + rng.IntN(20))
		a := NewAllocator(size)
		var blocks []Block
		nextStart := int64(0)
		seen := make(map[int64]bool)
		pending := false
		for range 300 {
			switch r := rng.IntN(10); {
			case r < 6:
				id, ok := a.Next()
				if !ok {
					if a.Available() != 0 {
						t.Fatalf("round %d: Next failed with %d available", round, a.Available())
					}
					break
				}
				if seen[id] {
					t.Fatalf("round %d: id %d handed out twice", round, id)
				}
				seen[id] = true
				in := false
				for _, b := range blocks {
					in = in || b.Contains(id)
				}
				if !in {
					t.Fatalf("round %d: id %d from no claimed block %v", round, id, blocks)
				}
			case r < 8:
				if a.Prefetch() {
					if pending {
						t.Fatalf("round %d: two claims at once", round)
					}
					pending = true
				}
			default:
				if !pending {
					break
				}
				pending = false
				if rng.IntN(4) == 0 {
					a.ClaimFailed()
					break
				}
				b := Block{Start: nextStart, Size: size}
				nextStart += size + int64(rng.IntN(3))
				blocks = append(blocks, b)
				a.Claimed(b)
			}
		}
	}
}
