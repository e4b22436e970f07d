package producerstate

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sluice-mq/sluice/storage/batch"
)

// simProducer is an idempotent producer with up to five batches in
// flight whose answers may be lost, delivered again or reordered.
type simProducer struct {
	id       int64
	epoch    int16
	nextSeq  int32
	inflight []simBatch // sent, not acknowledged, oldest first
}

type simBatch struct {
	seq, n int32
}

type appended struct {
	first, last int64
}

// TestRandomizedProducers drives producers that retry, reorder and bump
// epochs against a State (snapshotted and reloaded now and then) and
// checks Kafka's guarantees: no sequence range is appended twice, each
// epoch's appended sequences are gapless from 0, a duplicate is
// answered with the original offsets, and a producer resending its
// oldest unacknowledged batch is never refused.
func TestRandomizedProducers(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runRandomized(t, seed) })
	}
}

func runRandomized(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := New(Config{}, 0)
	producers := make([]*simProducer, 4)
	for i := range producers {
		producers[i] = &simProducer{id: int64(100 + i)}
	}
	type key struct {
		pid   int64
		epoch int16
		seq   int32
	}
	log := map[key]appended{}
	nextSeqAppended := map[[2]int64]int32{} // (pid, epoch) → next expected first seq
	var leo int64
	var dups, refused int
	for step := range 3000 {
		p := producers[rng.IntN(len(producers))]
		switch r := rng.IntN(100); {
		case r < 3:
			// The producer bumps its epoch: in-flight batches are dropped
			// and sequences restart (what a client does on an
			// unrecoverable sequence error).
			p.epoch++
			p.nextSeq, p.inflight = 0, nil
			continue
		case r < 40 && len(p.inflight) < NumBatchesToRetain:
			n := int32(1 + rng.IntN(5))
			p.inflight = append(p.inflight, simBatch{seq: p.nextSeq, n: n})
			p.nextSeq += n
		}
		if len(p.inflight) == 0 {
			continue
		}
		// Deliver one in-flight batch: usually the oldest (an in-order
		// retry), sometimes a later one (reordered by the network).
		i := 0
		if rng.IntN(4) == 0 {
			i = rng.IntN(len(p.inflight))
		}
		b := p.inflight[i]
		h := hdr(p.id, p.epoch, b.seq, b.n, 0)
		dup, isDup, err := s.Check([]batch.Header{h})
		k := key{p.id, p.epoch, b.seq}
		switch {
		case isDup:
			orig, ok := log[k]
			if !ok || orig.first != dup.FirstOffset || orig.last != dup.LastOffset {
				t.Fatalf("step %d: duplicate of %+v answered %+v, appended at %+v (%v)", step, k, dup, orig, ok)
			}
			dups++
		case err == nil:
			if _, again := log[k]; again {
				t.Fatalf("step %d: %+v appended twice", step, k)
			}
			pe := [2]int64{p.id, int64(p.epoch)}
			if want := nextSeqAppended[pe]; b.seq != want {
				t.Fatalf("step %d: %+v appended, next sequence was %d", step, k, want)
			}
			h.BaseOffset = leo
			s.Apply(h, nil)
			log[k] = appended{leo, h.LastOffset()}
			nextSeqAppended[pe] = b.seq + b.n
			leo = h.NextOffset()
		case errors.Is(err, ErrOutOfOrderSequence):
			if i == 0 {
				t.Fatalf("step %d: the oldest in-flight batch %+v refused: %v", step, k, err)
			}
			refused++
			continue // stays in flight
		default:
			t.Fatalf("step %d: %v", step, err)
		}
		// Appended or duplicate: the answer may be lost (stay in flight)
		// or arrive; answers complete batches in order.
		if rng.IntN(3) > 0 {
			if i == 0 {
				p.inflight = p.inflight[1:]
			}
		}
		if step%500 == 499 {
			// Restart from a snapshot: behaviour must not change.
			entries, err := DecodeSnapshot(EncodeSnapshot(s.Entries()))
			if err != nil {
				t.Fatal(err)
			}
			s = FromEntries(Config{}, s.End(), entries, 0)
		}
	}
	if len(log) == 0 || dups == 0 || refused == 0 {
		t.Fatalf("%d appended, %d duplicates, %d refused: the run tested too little", len(log), dups, refused)
	}
}
