package batch

import (
	"encoding/binary"
	"math"
)

// SetProducer sets the producer id, epoch and base sequence of the batch
// being built, for an idempotent producer that assigns sequences when the
// batch is sent rather than when it is opened.
func (b *Builder) SetProducer(id int64, epoch int16, baseSequence int32) {
	b.opts.ProducerID, b.opts.ProducerEpoch, b.opts.BaseSequence = id, epoch, baseSequence
}

// SetProducer rewrites the producer id, epoch and base sequence of the
// encoded batch b in place and recomputes its CRC, for an idempotent
// producer that sends a batch again under a new epoch (Kafka's KIP-360).
// b must hold one whole batch.
func SetProducer(b []byte, id int64, epoch int16, baseSequence int32) {
	binary.BigEndian.PutUint64(b[offProducerID:], uint64(id))
	binary.BigEndian.PutUint16(b[offProducerEpoch:], uint16(epoch))
	binary.BigEndian.PutUint32(b[offBaseSequence:], uint32(baseSequence))
	binary.BigEndian.PutUint32(b[offCRC:], Checksum(b))
}

// NextSequence is the sequence after a batch of count records starting at
// base: sequences wrap from math.MaxInt32 to 0, as Kafka's do.
func NextSequence(base int32, count int) int32 {
	return int32((int64(base) + int64(count)) % (math.MaxInt32 + 1))
}

// Merge appends the records of src to b as if they had been appended to b
// one by one: offset deltas continue b's, timestamps are kept. src, which
// must have been filled by Append, is left unchanged. A producer merges
// batches that queued up behind its in-flight limit into one, so an
// idempotent producer, which sends one batch per request, still moves
// large requests. MergedSize tells the size beforehand.
func (b *Builder) Merge(src *Builder) {
	b.eachMerged(src, func(delta int64, attrs byte, tail []byte) {
		size := 1 + varintLen(delta) + varintLen(int64(b.count)) + len(tail)
		b.records = binary.AppendVarint(b.records, int64(size))
		b.records = append(b.records, attrs)
		b.records = binary.AppendVarint(b.records, delta)
		b.records = binary.AppendVarint(b.records, int64(b.count))
		b.records = append(b.records, tail...)
		b.count++
	})
}

// MergedSize is what EstimatedSize would be after Merge(src): the deltas
// of src's records are written anew, so the result may exceed the sum of
// both sizes.
func (b *Builder) MergedSize(src *Builder) int {
	size := len(b.records)
	count := b.count
	first := b.firstTimestamp
	rest := src.records[HeaderSize:]
	for len(rest) > 0 {
		length, n := binary.Varint(rest)
		body := rest[n : n+int(length)]
		rest = rest[n+int(length):]
		tsDelta, n1 := binary.Varint(body[1:])
		_, n2 := binary.Varint(body[1+n1:])
		ts := src.firstTimestamp + tsDelta
		if count == 0 {
			first = ts
		}
		body2 := 1 + varintLen(ts-first) + varintLen(int64(count)) + len(body) - 1 - n1 - n2
		size += varintLen(int64(body2)) + body2
		count++
	}
	return size
}

// eachMerged calls fn for every record of src with its timestamp delta
// against b (updating b's timestamps as Append does), its attributes and
// the rest of its body (key, value, headers).
func (b *Builder) eachMerged(src *Builder, fn func(delta int64, attrs byte, tail []byte)) {
	rest := src.records[HeaderSize:]
	for len(rest) > 0 {
		length, n := binary.Varint(rest)
		body := rest[n : n+int(length)]
		rest = rest[n+int(length):]
		tsDelta, n1 := binary.Varint(body[1:])
		_, n2 := binary.Varint(body[1+n1:])
		ts := src.firstTimestamp + tsDelta
		if b.count == 0 {
			b.firstTimestamp, b.maxTimestamp = ts, ts
		} else if ts > b.maxTimestamp {
			b.maxTimestamp = ts
		}
		fn(ts-b.firstTimestamp, body[0], body[1+n1+n2:])
	}
}
