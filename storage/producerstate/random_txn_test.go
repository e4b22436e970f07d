package producerstate

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sluice-mq/sluice/storage/batch"
)

// TestRandomizedTransactions appends transactional batches, plain ones and
// markers of several producers in random order, with the high watermark
// trailing the log end, and compares the last stable offset and the
// completed transactions with a model: the LSO is the smallest of the
// high watermark, the first offset of every open transaction and of
// every completed one whose marker is not below the high watermark.
func TestRandomizedTransactions(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runRandomizedTxns(t, seed) })
	}
}

func runRandomizedTxns(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 11))
	s := New(Config{}, 0)
	type txn struct{ first, marker int64 } // marker -1 while open
	open := map[int64]int64{}              // producer → first offset of its open transaction
	var done []txn
	seqs := map[int64]int32{}
	var leo, hw int64
	completed := 0
	for step := range 2000 {
		pid := int64(1 + rng.IntN(4))
		switch r := rng.IntN(10); {
		case r < 5:
			n := int32(1 + rng.IntN(3))
			h := txnHdr(pid, 0, seqs[pid], n, leo)
			if _, _, err := s.Check([]batch.Header{h}); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			s.Apply(h, nil)
			if _, ok := open[pid]; !ok {
				open[pid] = leo
			}
			seqs[pid] += n
			leo += int64(n)
		case r < 6:
			h := hdr(-1, -1, -1, 1, leo)
			s.Apply(h, nil)
			leo++
		case r < 8:
			typ := batch.ControlCommit
			if rng.IntN(2) == 0 {
				typ = batch.ControlAbort
			}
			if err := s.CheckMarker(pid, 0, 1); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			c := s.Apply(markerHdr(pid, 0, leo), &Marker{Type: typ, CoordinatorEpoch: 1})
			first, wasOpen := open[pid]
			if wasOpen != (c != nil) {
				t.Fatalf("step %d: marker of producer %d completed %+v, open %v", step, pid, c, wasOpen)
			}
			if c != nil {
				completed++
				if c.FirstOffset != first || c.LastOffset != leo || c.Aborted != (typ == batch.ControlAbort) {
					t.Fatalf("step %d: completed %+v, want first %d marker %d", step, c, first, leo)
				}
				delete(open, pid)
				done = append(done, txn{first, leo})
			}
			leo++
		default:
			hw = min(leo, hw+int64(rng.IntN(6)))
		}
		want := hw
		for _, first := range open {
			want = min(want, first)
		}
		for _, d := range done {
			if d.marker >= hw {
				want = min(want, d.first)
			}
		}
		if got := s.LastStableOffset(hw); got != want {
			t.Fatalf("step %d: lso %d, want %d (hw %d, open %v)", step, got, want, hw, open)
		}
		if step%400 == 399 {
			// Reloaded from a snapshot the open transactions are the same
			// (the unreplicated completions are rebuilt by the replay).
			entries, err := DecodeSnapshot(EncodeSnapshot(s.Entries()))
			if err != nil {
				t.Fatal(err)
			}
			got := FromEntries(Config{}, leo, entries, 0).OpenTransactions()
			if len(got) != len(open) {
				t.Fatalf("step %d: reloaded open %v, want %v", step, got, open)
			}
			for _, o := range got {
				if open[o.ProducerID] != o.FirstOffset {
					t.Fatalf("step %d: reloaded open %v, want %v", step, got, open)
				}
			}
		}
	}
	if completed == 0 {
		t.Fatal("no transaction completed")
	}
}
