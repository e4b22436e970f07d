package batch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Byte positions of the v2 batch header fields (big-endian).
const (
	offBaseOffset      = 0
	offLength          = 8
	offLeaderEpoch     = 12
	offMagic           = 16
	offCRC             = 17
	offAttributes      = 21
	offLastOffsetDelta = 23
	offBaseTimestamp   = 27
	offMaxTimestamp    = 35
	offProducerID      = 43
	offProducerEpoch   = 51
	offBaseSequence    = 53
	offRecordCount     = 57

	// HeaderSize is the fixed size of a v2 batch header; records follow it.
	HeaderSize = 61
	// LogOverhead is the part of the header not counted by batchLength
	// (baseOffset and batchLength themselves).
	LogOverhead = 12
	// Magic is the only record batch format Sluice speaks.
	Magic = 2
)

// Errors returned while framing and validating batches.
var (
	// ErrShortBatch means the buffer ends before the batch it starts does.
	ErrShortBatch = errors.New("batch: truncated batch")
	// ErrInvalidMagic means the magic byte is not 2.
	ErrInvalidMagic = errors.New("batch: unsupported magic (want 2)")
	// ErrCorruptBatch means the CRC-32C does not match or the framing is
	// inconsistent (length, record count, offsets).
	ErrCorruptBatch = errors.New("batch: corrupt batch")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Attributes is the 16-bit attributes field of a batch header.
type Attributes int16

const (
	codecMask         Attributes = 0x07
	attrTimestampType Attributes = 0x08
	attrTransactional Attributes = 0x10
	attrControl       Attributes = 0x20
)

// Codec returns the compression codec of the records section.
func (a Attributes) Codec() Codec { return Codec(a & codecMask) }

// LogAppendTime reports whether timestamps are set by the broker.
func (a Attributes) LogAppendTime() bool { return a&attrTimestampType != 0 }

// Transactional reports whether the batch belongs to a transaction.
func (a Attributes) Transactional() bool { return a&attrTransactional != 0 }

// Control reports whether the batch holds a control record (commit/abort).
func (a Attributes) Control() bool { return a&attrControl != 0 }

// Header is a decoded v2 batch header.
type Header struct {
	BaseOffset           int64
	Length               int32 // bytes after the Length field
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           Attributes
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	RecordCount          int32
}

// Size is the whole batch size in bytes, header included.
func (h Header) Size() int { return int(h.Length) + LogOverhead }

// LastOffset is the offset of the batch's last record.
func (h Header) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset is the offset that follows the batch.
func (h Header) NextOffset() int64 { return h.LastOffset() + 1 }

// ParseHeader decodes the header at the start of b. It checks the length
// and magic but not the CRC (see Validate).
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, ErrShortBatch
	}
	h := parseFields(b)
	if h.Magic != Magic {
		return h, fmt.Errorf("%w: got %d", ErrInvalidMagic, h.Magic)
	}
	if h.Length < HeaderSize-LogOverhead {
		return h, fmt.Errorf("%w: batch length %d below header size", ErrCorruptBatch, h.Length)
	}
	if h.LastOffsetDelta < 0 || h.RecordCount < 0 {
		return h, fmt.Errorf("%w: negative lastOffsetDelta or recordCount", ErrCorruptBatch)
	}
	return h, nil
}

// parseFields decodes the header fields at the start of b, which holds at
// least HeaderSize bytes, checking nothing.
func parseFields(b []byte) Header {
	return Header{
		BaseOffset:           int64(binary.BigEndian.Uint64(b[offBaseOffset:])),
		Length:               int32(binary.BigEndian.Uint32(b[offLength:])),
		PartitionLeaderEpoch: int32(binary.BigEndian.Uint32(b[offLeaderEpoch:])),
		Magic:                int8(b[offMagic]),
		CRC:                  binary.BigEndian.Uint32(b[offCRC:]),
		Attributes:           Attributes(binary.BigEndian.Uint16(b[offAttributes:])),
		LastOffsetDelta:      int32(binary.BigEndian.Uint32(b[offLastOffsetDelta:])),
		BaseTimestamp:        int64(binary.BigEndian.Uint64(b[offBaseTimestamp:])),
		MaxTimestamp:         int64(binary.BigEndian.Uint64(b[offMaxTimestamp:])),
		ProducerID:           int64(binary.BigEndian.Uint64(b[offProducerID:])),
		ProducerEpoch:        int16(binary.BigEndian.Uint16(b[offProducerEpoch:])),
		BaseSequence:         int32(binary.BigEndian.Uint32(b[offBaseSequence:])),
		RecordCount:          int32(binary.BigEndian.Uint32(b[offRecordCount:])),
	}
}

// Validate checks that b holds exactly one whole batch with a good CRC and
// returns its header.
func Validate(b []byte) (Header, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return h, err
	}
	if h.Size() != len(b) {
		if h.Size() > len(b) {
			return h, ErrShortBatch
		}
		return h, fmt.Errorf("%w: batch length %d, buffer %d", ErrCorruptBatch, h.Size(), len(b))
	}
	if got := crc32.Checksum(b[offAttributes:], castagnoli); got != h.CRC {
		return h, fmt.Errorf("%w: crc %08x, computed %08x", ErrCorruptBatch, h.CRC, got)
	}
	return h, nil
}

// Next splits the first batch off buf: it returns the batch bytes (aliasing
// buf) and the rest. It validates the CRC. ErrShortBatch means buf ends
// inside the batch (a torn tail when reading a log).
func Next(buf []byte) (h Header, batch, rest []byte, err error) {
	h, err = ParseHeader(buf)
	if err != nil {
		return h, nil, buf, err
	}
	if h.Size() > len(buf) {
		return h, nil, buf, ErrShortBatch
	}
	batch = buf[:h.Size()]
	if _, err = Validate(batch); err != nil {
		return h, nil, buf, err
	}
	return h, batch, buf[h.Size():], nil
}

// SetBaseOffset rewrites the baseOffset field in place. The CRC does not
// cover it, so the batch stays valid.
func SetBaseOffset(b []byte, offset int64) {
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(offset))
}

// SetPartitionLeaderEpoch rewrites the partitionLeaderEpoch field in place;
// like the base offset it is outside the CRC.
func SetPartitionLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(epoch))
}

// Checksum computes the CRC-32C a batch's header must carry.
func Checksum(b []byte) uint32 { return crc32.Checksum(b[offAttributes:], castagnoli) }

// SetLogAppendTime marks b as timestamped by the broker at ts
// (milliseconds), as a topic with message.timestamp.type=LogAppendTime
// does on append: it sets the timestamp-type attribute and maxTimestamp,
// which readers then use as every record's timestamp, and recomputes the
// CRC. b must hold one whole batch.
func SetLogAppendTime(b []byte, ts int64) {
	attrs := Attributes(binary.BigEndian.Uint16(b[offAttributes:])) | attrTimestampType
	binary.BigEndian.PutUint16(b[offAttributes:], uint16(attrs))
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(ts))
	binary.BigEndian.PutUint32(b[offCRC:], Checksum(b))
}
