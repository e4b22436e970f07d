package batch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// EncodeOptions are the batch-level fields of an encoded batch.
//
// The zero value names producer id 0; a batch without an idempotent
// producer carries -1 in ProducerID, ProducerEpoch and BaseSequence, which
// DefaultEncodeOptions sets.
type EncodeOptions struct {
	Codec                Codec
	ProducerID           int64 // -1 means no producer id
	ProducerEpoch        int16 // -1 without a producer id
	BaseSequence         int32 // sequence of the first record; -1 without a producer id
	Transactional        bool
	LogAppendTime        bool // timestamps are the broker's append time (attribute bit 3)
	PartitionLeaderEpoch int32
}

// DefaultEncodeOptions returns options for an uncompressed batch with no
// producer id and no partition leader epoch (-1 everywhere Kafka uses -1).
func DefaultEncodeOptions() EncodeOptions {
	return EncodeOptions{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1, PartitionLeaderEpoch: -1}
}

// attributes returns the batch attributes the options describe.
func (o EncodeOptions) attributes(control bool) Attributes {
	a := Attributes(o.Codec) & codecMask
	if o.LogAppendTime {
		a |= attrTimestampType
	}
	if o.Transactional {
		a |= attrTransactional
	}
	if control {
		a |= attrControl
	}
	return a
}

// Builder accumulates records into one v2 batch. It keeps its buffers
// across Reset, so a producer that reuses one Builder per partition
// allocates nothing per record once the buffers have grown.
//
// A Builder is not safe for concurrent use.
type Builder struct {
	opts    EncodeOptions
	control bool
	// records holds HeaderSize reserved bytes, then the uncompressed
	// records section. Invariant: len(records) >= HeaderSize.
	records        []byte
	count          int32
	firstTimestamp int64 // timestamp of the first record; the base timestamp
	maxTimestamp   int64
	out            []byte // reused output of Build for compressed batches
}

// NewBuilder returns an empty Builder for a batch with the given options.
func NewBuilder(opts EncodeOptions) *Builder {
	b := &Builder{}
	b.Reset(opts)
	return b
}

// Reset empties the Builder for a new batch with opts, keeping its buffers.
func (b *Builder) Reset(opts EncodeOptions) {
	b.opts = opts
	b.control = false
	if cap(b.records) < HeaderSize {
		b.records = make([]byte, HeaderSize, 16<<10)
	}
	b.records = b.records[:HeaderSize]
	b.count = 0
	b.firstTimestamp, b.maxTimestamp = 0, 0
}

// Append adds a record with timestamp ts (milliseconds). Key, value and
// headers are copied; nil key or value is null. The record's offset delta is
// its index in the batch.
func (b *Builder) Append(ts int64, key, value []byte, headers []RecordHeader) {
	if b.count == 0 {
		b.firstTimestamp, b.maxTimestamp = ts, ts
	} else if ts > b.maxTimestamp {
		b.maxTimestamp = ts
	}
	b.records = appendRecord(b.records, ts-b.firstTimestamp, b.count, key, value, headers)
	b.count++
}

// Len returns the number of records appended since the last Reset.
func (b *Builder) Len() int { return int(b.count) }

// EstimatedSize returns the size the batch would have uncompressed: the
// header plus the records appended so far. Compressed batches are usually
// smaller; callers use it to cap batches before compressing.
func (b *Builder) EstimatedSize() int { return len(b.records) }

// Build returns the complete batch: baseOffset 0, offset deltas 0..n-1,
// first and max timestamps, the records section compressed with the
// options' codec, and the CRC. The caller owns the returned slice; the
// Builder stays as it was until Reset. Build fails with ErrEmptyBatch when
// no record was appended.
func (b *Builder) Build() ([]byte, error) {
	if b.opts.Codec == CodecNone {
		return b.AppendTo(make([]byte, 0, len(b.records)))
	}
	out, err := b.AppendTo(b.out[:0])
	if err != nil {
		return nil, err
	}
	b.out = out
	return bytes.Clone(out), nil
}

// AppendTo is Build appending the batch to dst, for callers that reuse an
// output buffer; it allocates nothing when dst has room.
func (b *Builder) AppendTo(dst []byte) ([]byte, error) {
	if b.count == 0 {
		return nil, ErrEmptyBatch
	}
	start := len(dst)
	dst = slices.Grow(dst, HeaderSize)[:start+HeaderSize]
	dst, err := compress(dst, b.opts.Codec, b.records[HeaderSize:])
	if err != nil {
		return nil, err
	}
	batch := dst[start:]
	if len(batch)-LogOverhead > math.MaxInt32 {
		return nil, fmt.Errorf("%w: %d bytes", ErrBatchTooLarge, len(batch))
	}
	o := b.opts
	binary.BigEndian.PutUint64(batch[offBaseOffset:], 0)
	binary.BigEndian.PutUint32(batch[offLength:], uint32(len(batch)-LogOverhead))
	binary.BigEndian.PutUint32(batch[offLeaderEpoch:], uint32(o.PartitionLeaderEpoch))
	batch[offMagic] = Magic
	binary.BigEndian.PutUint16(batch[offAttributes:], uint16(o.attributes(b.control)))
	binary.BigEndian.PutUint32(batch[offLastOffsetDelta:], uint32(b.count-1))
	binary.BigEndian.PutUint64(batch[offBaseTimestamp:], uint64(b.firstTimestamp))
	binary.BigEndian.PutUint64(batch[offMaxTimestamp:], uint64(b.maxTimestamp))
	binary.BigEndian.PutUint64(batch[offProducerID:], uint64(o.ProducerID))
	binary.BigEndian.PutUint16(batch[offProducerEpoch:], uint16(o.ProducerEpoch))
	binary.BigEndian.PutUint32(batch[offBaseSequence:], uint32(o.BaseSequence))
	binary.BigEndian.PutUint32(batch[offRecordCount:], uint32(b.count))
	binary.BigEndian.PutUint32(batch[offCRC:], Checksum(batch))
	return dst, nil
}

// Encode builds one batch from records with opts. The records' Offset
// fields are ignored: offsets are assigned 0..n-1 from baseOffset 0.
func Encode(records []Record, opts EncodeOptions) ([]byte, error) {
	return encode(records, opts, false)
}

func encode(records []Record, opts EncodeOptions, control bool) ([]byte, error) {
	size := HeaderSize
	for i := range records {
		size += 5 + recordBodySize(0, int32(i), records[i].Key, records[i].Value, records[i].Headers) + 10
	}
	b := &Builder{records: make([]byte, HeaderSize, size)}
	b.Reset(opts)
	b.control = control
	for i := range records {
		b.Append(records[i].Timestamp, records[i].Key, records[i].Value, records[i].Headers)
	}
	return b.Build()
}

// EncodeOptions returns the options that re-encode a batch with header h.
func (h Header) EncodeOptions() EncodeOptions {
	return EncodeOptions{
		Codec:                h.Attributes.Codec(),
		ProducerID:           h.ProducerID,
		ProducerEpoch:        h.ProducerEpoch,
		BaseSequence:         h.BaseSequence,
		Transactional:        h.Attributes.Transactional(),
		LogAppendTime:        h.Attributes.LogAppendTime(),
		PartitionLeaderEpoch: h.PartitionLeaderEpoch,
	}
}

// Recompress returns a copy of the batch b with its records section
// compressed with codec instead, for a topic whose configured compression
// differs from the producer's. Every other header field and every record is
// kept (with log append time, maxTimestamp stands for all timestamps and is
// kept as such). When b already uses codec it returns b.
func Recompress(b []byte, codec Codec) ([]byte, error) {
	h, records, err := Decode(b)
	if err != nil {
		return nil, err
	}
	if h.Attributes.Codec() == codec {
		return b, nil
	}
	if len(records) == 0 {
		return nil, ErrEmptyBatch
	}
	opts := h.EncodeOptions()
	opts.Codec = codec
	out, err := encode(records, opts, h.Attributes.Control())
	if err != nil {
		return nil, err
	}
	SetBaseOffset(out, h.BaseOffset)
	if h.Attributes.LogAppendTime() {
		SetLogAppendTime(out, h.MaxTimestamp)
	}
	return out, nil
}
