package epochcache

import (
	"math/rand/v2"
	"testing"
)

// modelEndOffsetFor is EndOffsetFor written as a plain scan over the
// entries, to check the binary searches against.
func modelEndOffsetFor(entries []Entry, requested int32, leo int64) (int32, int64) {
	if len(entries) == 0 || requested == Undefined {
		return Undefined, Undefined
	}
	if requested == entries[len(entries)-1].Epoch {
		return requested, leo
	}
	floor := -1
	for i, e := range entries {
		if e.Epoch <= requested {
			floor = i
		} else {
			if floor < 0 {
				return requested, e.StartOffset
			}
			return entries[floor].Epoch, e.StartOffset
		}
	}
	return Undefined, Undefined
}

// TestCacheRandomOperations applies random assigns and truncations and
// checks the invariant, EndOffsetFor against the model, and that every
// state survives Save and Load.
func TestCacheRandomOperations(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	path := t.TempDir() + "/leader-epoch-checkpoint"
	c := New()
	var leo int64
	for step := range 1000 {
		switch op := rng.IntN(10); {
		case op < 6:
			epoch, start, ok := c.Latest()
			if !ok {
				epoch, start = 0, leo
			}
			newEpoch := epoch + int32(rng.IntN(3))
			newStart := max(start, leo) + int64(rng.IntN(3))
			if rng.IntN(10) == 0 { // sometimes try to go backwards
				newEpoch -= 2
			}
			err := c.Assign(newEpoch, newStart)
			if err == nil {
				leo = max(leo, newStart+int64(rng.IntN(5)))
			}
		case op < 8:
			leo = max(0, leo-int64(rng.IntN(6)))
			c.TruncateFromEnd(leo)
		default:
			if _, start, ok := c.Earliest(); ok {
				c.TruncateFromStart(start + int64(rng.IntN(4)))
			}
		}
		entries := c.Entries()
		if _, err := FromEntries(entries); err != nil {
			t.Fatalf("step %d: invariant broken: %v (%v)", step, err, entries)
		}
		maxEpoch := int32(2)
		if len(entries) > 0 {
			maxEpoch += entries[len(entries)-1].Epoch
		}
		for range 16 {
			requested := rng.Int32N(maxEpoch+2) - 1
			ge, gs := c.EndOffsetFor(requested, leo)
			we, ws := modelEndOffsetFor(entries, requested, leo)
			if ge != we || gs != ws {
				t.Fatalf("step %d: EndOffsetFor(%d, %d) = (%d, %d), model (%d, %d); entries %v",
					step, requested, leo, ge, gs, we, ws, entries)
			}
		}
		if step%100 == 0 {
			if err := c.Save(path); err != nil {
				t.Fatal(err)
			}
			loaded, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			assertEntries(t, loaded, entries)
		}
	}
}
