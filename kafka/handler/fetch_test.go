package handler

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/storage/batch"
)

// batches returns n one-record batches with offsets from base, each
// value bytes long, back to back.
func batches(t *testing.T, base int64, n, value int) []byte {
	t.Helper()
	var out []byte
	for i := range n {
		b, err := batch.Encode([]batch.Record{{Value: bytes.Repeat([]byte("v"), value)}}, batch.DefaultEncodeOptions())
		if err != nil {
			t.Fatal(err)
		}
		binary.BigEndian.PutUint64(b, uint64(base+int64(i)))
		out = append(out, b...)
	}
	return out
}

func part(data []byte, aborted ...int64) *fetchPart {
	rp := kmsg.NewFetchResponseTopicPartition()
	rp.RecordBatches = data
	for _, first := range aborted {
		at := kmsg.NewFetchResponseTopicPartitionAbortedTransaction()
		at.ProducerID, at.FirstOffset = 1, first
		rp.AbortedTransactions = append(rp.AbortedTransactions, at)
	}
	return &fetchPart{rp: &rp, size: len(data)}
}

// TestLimitFetchKafkaRules: partitions share max_bytes in request order;
// each keeps the whole batches that fit in what is left, the first with
// data keeps at least one batch, and aborted transactions starting after
// the kept batches go with them.
func TestLimitFetchKafkaRules(t *testing.T) {
	one := len(batches(t, 0, 1, 100)) // one batch's size
	empty := part(nil)
	big := part(batches(t, 0, 1, 5000), 0)         // larger than max_bytes alone
	second := part(batches(t, 10, 4, 100), 10, 12) // two of its batches fit in what is left
	third := part(batches(t, 20, 2, 100))          // nothing left for it
	parts := []*fetchPart{empty, big, second, third}
	limitFetch(parts, 2*one+one/2)
	if big.size != len(batches(t, 0, 1, 5000)) {
		t.Fatalf("first partition with data kept %d bytes, want its whole first batch", big.size)
	}
	if second.size != 0 || third.size != 0 {
		t.Fatalf("after an oversized first batch: sizes %d, %d; want 0 (budget spent)", second.size, third.size)
	}

	second, third = part(batches(t, 10, 4, 100), 10, 12), part(batches(t, 20, 2, 100))
	limitFetch([]*fetchPart{empty, second, third}, 2*one+one/2)
	if second.size != 2*one || len(second.rp.RecordBatches) != 2*one {
		t.Fatalf("second partition kept %d bytes, want %d (two whole batches)", second.size, 2*one)
	}
	if len(second.rp.AbortedTransactions) != 1 || second.rp.AbortedTransactions[0].FirstOffset != 10 {
		t.Fatalf("aborted transactions %+v, want the one at 10 only", second.rp.AbortedTransactions)
	}
	if third.size != 0 || len(third.rp.RecordBatches) != 0 || third.rp.RecordBatches == nil {
		t.Fatalf("third partition kept %d bytes (%v); want an empty, non-null answer", third.size, third.rp.RecordBatches == nil)
	}

	// A budget that fits everything changes nothing.
	second = part(batches(t, 10, 4, 100))
	limitFetch([]*fetchPart{second}, 1<<20)
	if second.size != 4*one {
		t.Fatalf("kept %d of %d bytes under a large budget", second.size, 4*one)
	}
}
