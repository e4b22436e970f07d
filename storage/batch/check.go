package batch

import (
	"errors"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/klauspost/compress/zstd"
)

// Errors returned by Check for batches whose CRC is good but whose content
// breaks the format or the rules for their origin. Check's errors wrap
// exactly one of ErrShortBatch, ErrCorruptBatch or ErrInvalidMagic (the
// framing or the CRC is wrong: the bytes were damaged), ErrInvalidBatch
// (the bytes are as their writer meant them, and they are wrong) or
// ErrInvalidTimestamp, plus a more specific sentinel (ErrRecordCount,
// ErrOffsetDelta, ErrBadRecord, ErrUnknownCodec, ErrDecompress,
// ErrDecompressLimit) where one applies.
var (
	// ErrInvalidBatch means a batch with a good CRC is malformed or breaks
	// the rules for its origin (Kafka's INVALID_RECORD).
	ErrInvalidBatch = errors.New("batch: invalid batch")
	// ErrInvalidTimestamp means a producer set the log append time
	// timestamp type, which only a broker may set (Kafka's
	// INVALID_TIMESTAMP).
	ErrInvalidTimestamp = errors.New("batch: invalid timestamp")
)

// Origin says who wrote the batches Check is given, which decides how
// strict it is.
type Origin uint8

const (
	// FromProducer is a client's produce request, as Kafka's
	// AppendOrigin.CLIENT: baseOffset 0, offset deltas exactly 0..n-1
	// (lastOffsetDelta = recordCount-1, at least one record), a
	// maxTimestamp that is the largest record timestamp and a
	// baseTimestamp that is the first or the smallest, no control batch,
	// no log append time, no attribute bit above the control bit, and a
	// base sequence whenever there is a producer id.
	FromProducer Origin = iota
	// FromLeader is a leader's replication push: offsets, epochs and
	// timestamp types were set by the leader, and compaction may have
	// removed records (offset deltas rising with gaps up to
	// lastOffsetDelta, empty batches, a maxTimestamp above every remaining
	// record's).
	FromLeader
)

// CheckOptions configure Check.
type CheckOptions struct {
	Origin Origin
	// MaxUncompressedBytes bounds a compressed records section once
	// decompressed; 0 or anything above MaxDecompressedBytes means
	// MaxDecompressedBytes.
	MaxUncompressedBytes int
	// RequireKeys refuses records without a key (a producer writing to a
	// compacted topic, as Kafka refuses).
	RequireKeys bool
}

// CheckInfo summarises the batches Check accepted.
type CheckInfo struct {
	Batches int
	Records int64
	// Codecs has bit 1<<c set for every codec c the batches use.
	Codecs uint8
}

// Attribute bits no writer may set: above the control bit for producers;
// above bit 6 (Kafka's delete-horizon flag, set by a log cleaner) for
// replicated batches.
const (
	attrUnusedProducer Attributes = ^(codecMask | attrTimestampType | attrTransactional | attrControl)
	attrUnusedLeader   Attributes = attrUnusedProducer &^ 0x40
)

// minRecordSize is the smallest encoded record: a one-byte length, then
// attributes, timestamp delta, offset delta, key length, value length and
// header count of one byte each.
const minRecordSize = 7

// Check validates data, one or more concatenated v2 batches, completely:
// each batch's framing and CRC, its header against its records (count,
// offset deltas, timestamps), its attributes, and every record's framing
// and varints (each record's length covers exactly its fields, nothing
// follows the last record), with compressed records sections decompressed
// within opts.MaxUncompressedBytes. It either accepts every batch or
// returns the first error; it never changes data and allocates nothing
// for uncompressed batches.
func Check(data []byte, opts CheckOptions) (CheckInfo, error) {
	var info CheckInfo
	if len(data) == 0 {
		return info, fmt.Errorf("%w: no batches", ErrInvalidBatch)
	}
	c := checker{opts: opts}
	defer c.release()
	for pos := 0; pos < len(data); {
		h, err := checkFrame(data[pos:])
		if err == nil {
			err = c.batch(h, data[pos:pos+h.Size()])
		}
		if err != nil {
			return info, fmt.Errorf("batch %d at byte %d: %w", info.Batches, pos, err)
		}
		info.Batches++
		info.Records += int64(h.RecordCount)
		info.Codecs |= 1 << h.Attributes.Codec()
		pos += h.Size()
	}
	return info, nil
}

// checkFrame reads the header at the start of b and checks what damage
// would break: the length, the magic and the CRC.
func checkFrame(b []byte) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: %d bytes, a header takes %d", ErrShortBatch, len(b), HeaderSize)
	}
	h := parseFields(b)
	switch {
	case h.Length < HeaderSize-LogOverhead:
		return h, fmt.Errorf("%w: batch length %d below header size", ErrCorruptBatch, h.Length)
	case h.Size() > len(b):
		return h, fmt.Errorf("%w: batch length %d, %d bytes left", ErrShortBatch, h.Length, len(b)-LogOverhead)
	case h.Magic != Magic:
		return h, fmt.Errorf("%w: got %d", ErrInvalidMagic, h.Magic)
	}
	if got := crc32.Checksum(b[offAttributes:h.Size()], castagnoli); got != h.CRC {
		return h, fmt.Errorf("%w: crc %08x, computed %08x", ErrCorruptBatch, h.CRC, got)
	}
	return h, nil
}

// checker holds the scratch buffer of compressed batches across one Check.
type checker struct {
	opts CheckOptions
	st   *iterState
}

func (c *checker) release() {
	if c.st != nil {
		c.st.release()
	}
}

func invalid(h *Header, kind error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if kind == nil {
		return fmt.Errorf("%w: batch at offset %d: %s", ErrInvalidBatch, h.BaseOffset, msg)
	}
	return fmt.Errorf("%w: %w: batch at offset %d: %s", ErrInvalidBatch, kind, h.BaseOffset, msg)
}

// batch checks one framed batch with a good CRC.
func (c *checker) batch(h Header, b []byte) error {
	a, producer := h.Attributes, c.opts.Origin == FromProducer
	if a.Codec() > CodecZstd {
		return invalid(&h, ErrUnknownCodec, "codec %d", a.Codec())
	}
	unused := attrUnusedLeader
	if producer {
		unused = attrUnusedProducer
	}
	if a&unused != 0 {
		return invalid(&h, nil, "attributes %#04x set unused bits %#04x", uint16(a), uint16(a&unused))
	}
	if h.RecordCount < 0 || h.LastOffsetDelta < 0 {
		return invalid(&h, ErrRecordCount, "recordCount %d, lastOffsetDelta %d", h.RecordCount, h.LastOffsetDelta)
	}
	if producer {
		switch {
		case a.Control():
			return invalid(&h, nil, "producers may not write control batches")
		case a.LogAppendTime():
			return fmt.Errorf("%w: batch at offset %d: producers may not set the log append time type", ErrInvalidTimestamp, h.BaseOffset)
		case h.BaseOffset != 0:
			return invalid(&h, nil, "a produced batch must have baseOffset 0")
		case h.RecordCount == 0:
			return invalid(&h, ErrRecordCount, "no records")
		case h.LastOffsetDelta != h.RecordCount-1:
			return invalid(&h, ErrRecordCount, "lastOffsetDelta %d, recordCount %d", h.LastOffsetDelta, h.RecordCount)
		case h.ProducerID >= 0 && h.BaseSequence < 0:
			return invalid(&h, nil, "base sequence %d with producer id %d", h.BaseSequence, h.ProducerID)
		}
	} else {
		if int64(h.RecordCount) > int64(h.LastOffsetDelta)+1 {
			return invalid(&h, ErrRecordCount, "lastOffsetDelta %d, recordCount %d", h.LastOffsetDelta, h.RecordCount)
		}
		if a.Control() && (!a.Transactional() || h.RecordCount > 1) {
			return invalid(&h, nil, "a control batch must be transactional and hold one record")
		}
	}
	data := b[HeaderSize:]
	if codec := a.Codec(); codec != CodecNone {
		if c.st == nil {
			c.st = iterStates.Get().(*iterState)
		}
		out, err := decompressWithin(c.st.buf, codec, data, c.limit())
		if err != nil {
			return fmt.Errorf("%w: batch at offset %d: %w", ErrInvalidBatch, h.BaseOffset, err)
		}
		c.st.buf, data = out, out
	}
	if int64(h.RecordCount) > int64(len(data)/minRecordSize) {
		return invalid(&h, ErrRecordCount, "%d records cannot fit %d bytes", h.RecordCount, len(data))
	}
	return c.records(&h, data)
}

// limit is the decompression bound in effect.
func (c *checker) limit() int {
	if n := c.opts.MaxUncompressedBytes; n > 0 && n < MaxDecompressedBytes {
		return n
	}
	return MaxDecompressedBytes
}

// decompressWithin is decompress with a limit that may be below
// MaxDecompressedBytes. The pooled zstd decoders are built for
// MaxDecompressedBytes, which bounds their memory; the lower limit is
// checked against the size the frame declares before decoding and
// against the output after.
func decompressWithin(dst []byte, codec Codec, src []byte, limit int) ([]byte, error) {
	if codec != CodecZstd || limit >= MaxDecompressedBytes {
		return decompress(dst, codec, src, limit)
	}
	var zh zstd.Header
	if zh.Decode(src) == nil && zh.HasFCS && zh.FrameContentSize > uint64(limit) {
		return nil, fmt.Errorf("%s: %w (frame declares %d bytes, limit %d)", codec, ErrDecompressLimit, zh.FrameContentSize, limit)
	}
	out, err := decompress(dst, codec, src, MaxDecompressedBytes)
	if err == nil && len(out) > limit {
		return nil, fmt.Errorf("%s: %w (limit %d bytes)", codec, ErrDecompressLimit, limit)
	}
	return out, err
}

// varintAt reads the zigzag varint at b[i:] and returns it with the index
// after it, or a negative index when it is malformed or longer than 64
// bits. i must not exceed len(b).
func varintAt(b []byte, i int) (int64, int) {
	var u uint64
	for s := uint(0); s < 64; s += 7 {
		if i >= len(b) {
			return 0, -1
		}
		c := b[i]
		i++
		if c < 0x80 {
			if s == 63 && c > 1 {
				return 0, -1 // more than 64 bits
			}
			u |= uint64(c) << s
			return int64(u>>1) ^ -int64(u&1), i
		}
		u |= uint64(c&0x7f) << s
	}
	return 0, -1
}

// int32At is varintAt for a varint that must fit an int32.
func int32At(b []byte, i int) (int64, int) {
	v, j := varintAt(b, i)
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, -1
	}
	return v, j
}

// bytesAt skips a varint length and that many bytes; nullable allows -1.
// It returns the length and the index after the bytes, or a negative index.
func bytesAt(b []byte, i int, nullable bool) (int64, int) {
	n, j := int32At(b, i)
	switch {
	case j < 0:
		return 0, -1
	case n == -1 && nullable:
		return n, j
	case n < 0 || n > int64(len(b)-j):
		return 0, -1
	}
	return n, j + int(n)
}

// records checks the uncompressed records section data of h.
func (c *checker) records(h *Header, data []byte) error {
	producer := c.opts.Origin == FromProducer
	var first, lo, hi int64
	prev := int64(-1)
	pos := 0
	for i := int64(0); i < int64(h.RecordCount); i++ {
		length, p := int32At(data, pos)
		if p < 0 || length < minRecordSize-1 || length > int64(len(data)-p) {
			return invalid(h, ErrBadRecord, "record %d: length %d, %d bytes left", i, length, len(data)-max(p, pos))
		}
		end := p + int(length)
		body := data[:end]
		p++ // attributes
		tsDelta, p := varintAt(body, p)
		if p < 0 {
			return invalid(h, ErrBadRecord, "record %d: bad timestamp delta", i)
		}
		offDelta, p := int32At(body, p)
		if p < 0 {
			return invalid(h, ErrBadRecord, "record %d: bad offset delta", i)
		}
		keyLen, p := bytesAt(body, p, true)
		if p < 0 {
			return invalid(h, ErrBadRecord, "record %d: bad key", i)
		}
		if keyLen < 0 && c.opts.RequireKeys && producer {
			return invalid(h, nil, "record %d has no key, which a compacted topic requires", i)
		}
		if _, p = bytesAt(body, p, true); p < 0 {
			return invalid(h, ErrBadRecord, "record %d: bad value", i)
		}
		headers, p := int32At(body, p)
		if p < 0 || headers < 0 || headers > int64((end-p)/2) {
			return invalid(h, ErrBadRecord, "record %d: bad header count %d", i, headers)
		}
		for j := int64(0); j < headers && p >= 0; j++ {
			if _, p = bytesAt(body, p, false); p >= 0 {
				_, p = bytesAt(body, p, true)
			}
		}
		if p < 0 {
			return invalid(h, ErrBadRecord, "record %d: bad header", i)
		}
		if p != end {
			return invalid(h, ErrBadRecord, "record %d: %d bytes after its fields", i, end-p)
		}
		pos = end

		if producer && offDelta != i || !producer && (offDelta <= prev || offDelta > int64(h.LastOffsetDelta)) {
			return invalid(h, ErrOffsetDelta, "record %d has offset delta %d", i, offDelta)
		}
		prev = offDelta
		if tsDelta > 0 && h.BaseTimestamp > math.MaxInt64-tsDelta || tsDelta < 0 && h.BaseTimestamp < math.MinInt64-tsDelta {
			return invalid(h, nil, "record %d: timestamp delta %d overflows", i, tsDelta)
		}
		ts := h.BaseTimestamp + tsDelta
		if i == 0 {
			first, lo, hi = ts, ts, ts
		}
		lo, hi = min(lo, ts), max(hi, ts)
	}
	if pos != len(data) {
		return invalid(h, ErrRecordCount, "%d bytes after the batch's %d records", len(data)-pos, h.RecordCount)
	}
	switch {
	case h.RecordCount == 0 || h.Attributes.LogAppendTime():
	case producer && h.MaxTimestamp != hi:
		return invalid(h, nil, "maxTimestamp %d, largest record timestamp %d", h.MaxTimestamp, hi)
	case producer && h.BaseTimestamp != first && h.BaseTimestamp != lo:
		return invalid(h, nil, "baseTimestamp %d is neither the first record's %d nor the smallest %d", h.BaseTimestamp, first, lo)
	case !producer && h.MaxTimestamp < hi:
		return invalid(h, nil, "maxTimestamp %d below record timestamp %d", h.MaxTimestamp, hi)
	}
	return nil
}
