package compaction

import (
	"fmt"
	"math"

	"github.com/sluice-mq/sluice/storage/batch"
)

// rewriter filters the records of one batch at a time and re-encodes the
// survivors. Its scratch space is reused across batches.
type rewriter struct {
	kept []batch.Record
}

// rewrite calls emit with the cleaned form of batch b (header h): b itself
// when keep accepts every record or b is a control batch, nothing when keep
// rejects them all, otherwise one new batch per run of consecutive kept
// offsets. emit's slice is only valid during the call.
func (rw *rewriter) rewrite(h batch.Header, b []byte, keep func(batch.Record) bool,
	emit func(cleaned []byte, records int) error) error {
	if h.Attributes.Control() {
		return emit(b, int(h.RecordCount))
	}
	_, records, err := batch.Decode(b)
	if err != nil {
		return fmt.Errorf("%w: batch at offset %d: %w", ErrCorruptInput, h.BaseOffset, err)
	}
	rw.kept = rw.kept[:0]
	for _, r := range records {
		if keep(r) {
			rw.kept = append(rw.kept, r)
		}
	}
	defer clear(rw.kept) // drop references into b
	switch len(rw.kept) {
	case len(records):
		return emit(b, len(records))
	case 0:
		return nil
	}
	for start := 0; start < len(rw.kept); {
		end := start + 1
		for end < len(rw.kept) && rw.kept[end].Offset == rw.kept[end-1].Offset+1 {
			end++
		}
		run := rw.kept[start:end]
		encoded, err := batch.Encode(run, runOptions(h, run[0].Offset))
		if err != nil {
			return fmt.Errorf("compaction: re-encode batch at offset %d: %w", h.BaseOffset, err)
		}
		batch.SetBaseOffset(encoded, run[0].Offset)
		if err := emit(encoded, len(run)); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// runOptions are the encode options for a run of records starting at
// baseOffset cut from the batch h: its batch-level fields, with the base
// sequence advanced like the offsets so each record keeps its sequence.
func runOptions(h batch.Header, baseOffset int64) batch.EncodeOptions {
	seq := h.BaseSequence
	if seq >= 0 {
		// Sequences wrap from MaxInt32 to 0, as Kafka's do.
		seq = int32((int64(seq) + baseOffset - h.BaseOffset) % (math.MaxInt32 + 1))
	}
	return batch.EncodeOptions{
		Codec:                h.Attributes.Codec(),
		ProducerID:           h.ProducerID,
		ProducerEpoch:        h.ProducerEpoch,
		BaseSequence:         seq,
		Transactional:        h.Attributes.Transactional(),
		LogAppendTime:        h.Attributes.LogAppendTime(),
		PartitionLeaderEpoch: h.PartitionLeaderEpoch,
	}
}
