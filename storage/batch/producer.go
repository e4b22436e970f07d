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
