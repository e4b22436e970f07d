package producerstate

import (
	"testing"

	"github.com/sluice-mq/sluice/storage/batch"
)

// BenchmarkCheckApply is the leader's per-batch cost of idempotence: one
// Check and one Apply, with 1000 producers tracked.
func BenchmarkCheckApply(b *testing.B) {
	s := New(Config{}, 0)
	seqs := make([]int32, 1000)
	var offset int64
	b.ReportAllocs()
	for i := range b.N {
		pid := int64(i % len(seqs))
		h := hdr(pid, 0, seqs[pid], 64, offset)
		if _, dup, err := s.Check([]batch.Header{h}); err != nil || dup {
			b.Fatal(err, dup)
		}
		s.Apply(h, nil)
		seqs[pid] += 64
		offset += 64
	}
}
