package producerstate

import (
	"math"

	"github.com/sluice-mq/sluice/storage/batch"
)

// NumBatchesToRetain is how many of a producer's latest batches are kept
// for duplicate detection: as in Kafka, a producer has at most five
// requests in flight per partition, so a retry is always of one of them.
const NumBatchesToRetain = 5

// Sentinel values of the batch header's producer fields (Kafka's
// RecordBatch.NO_PRODUCER_ID, NO_PRODUCER_EPOCH, NO_SEQUENCE).
const (
	NoProducerID    int64 = -1
	NoProducerEpoch int16 = -1
	NoSequence      int32 = -1
)

// BatchMetadata is what is remembered of one appended batch.
type BatchMetadata struct {
	FirstSeq    int32
	LastSeq     int32
	FirstOffset int64
	LastOffset  int64
	// Timestamp is the batch's max timestamp (the append time on a
	// LogAppendTime topic).
	Timestamp int64
}

// Entry is the state of one producer id in one partition.
type Entry struct {
	ProducerID int64
	// Epoch is the producer epoch of the latest batch or marker;
	// NoProducerEpoch for an entry that has none.
	Epoch int16
	// CoordinatorEpoch is the coordinator epoch of the latest transaction
	// marker (-1 before any).
	CoordinatorEpoch int32
	// TxnFirstOffset is the first offset of the producer's open
	// transaction, -1 when none is open.
	TxnFirstOffset int64
	// LastTimestamp is the max timestamp of the latest batch or the
	// timestamp of the latest marker; expiration counts from it.
	LastTimestamp int64

	batches [NumBatchesToRetain]BatchMetadata // oldest first
	n       int
}

// newEntry is the state of a producer id seen for the first time.
func newEntry(producerID int64) Entry {
	return Entry{ProducerID: producerID, Epoch: NoProducerEpoch, CoordinatorEpoch: -1, TxnFirstOffset: -1, LastTimestamp: -1}
}

// Batches returns the retained batches, oldest first.
func (e *Entry) Batches() []BatchMetadata {
	return append([]BatchMetadata(nil), e.batches[:e.n]...)
}

// LastSeq is the last sequence of the latest retained batch, NoSequence
// when none is retained.
func (e *Entry) LastSeq() int32 {
	if e.n == 0 {
		return NoSequence
	}
	return e.batches[e.n-1].LastSeq
}

// LastOffset is the last offset of the latest retained batch, -1 when
// none is retained.
func (e *Entry) LastOffset() int64 {
	if e.n == 0 {
		return -1
	}
	return e.batches[e.n-1].LastOffset
}

// setEpoch moves the entry to epoch; a new epoch forgets the batches of
// the old one (its sequence numbers start over at 0).
func (e *Entry) setEpoch(epoch int16) {
	if e.Epoch != epoch {
		e.Epoch = epoch
		e.n = 0
	}
}

// addBatch remembers b, dropping the oldest batch beyond
// NumBatchesToRetain.
func (e *Entry) addBatch(b BatchMetadata) {
	if e.n == NumBatchesToRetain {
		copy(e.batches[:], e.batches[1:])
		e.n--
	}
	e.batches[e.n] = b
	e.n++
}

// findDuplicate returns the retained batch with exactly this epoch and
// sequence range.
func (e *Entry) findDuplicate(epoch int16, firstSeq, lastSeq int32) (BatchMetadata, bool) {
	if epoch != e.Epoch {
		return BatchMetadata{}, false
	}
	for _, b := range e.batches[:e.n] {
		if b.FirstSeq == firstSeq && b.LastSeq == lastSeq {
			return b, true
		}
	}
	return BatchMetadata{}, false
}

// LastSequence is the sequence of a batch's last record: the base
// sequence plus lastOffsetDelta, wrapping past math.MaxInt32 to 0 as
// Kafka's producers do.
func LastSequence(h batch.Header) int32 {
	return IncrementSequence(h.BaseSequence, h.LastOffsetDelta)
}

// IncrementSequence adds n ≥ 0 to seq, wrapping past math.MaxInt32 to 0.
func IncrementSequence(seq, n int32) int32 {
	if seq > math.MaxInt32-n {
		return n - (math.MaxInt32 - seq) - 1
	}
	return seq + n
}

// inSequence reports whether next directly follows last.
func inSequence(last, next int32) bool {
	return int64(next) == int64(last)+1 || (next == 0 && last == math.MaxInt32)
}
