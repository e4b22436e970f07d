package batch

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
)

// Record is one record of a batch, with its absolute offset and timestamp.
//
// Key and Value distinguish nil (a null key or value, written as length -1)
// from empty (length 0).
type Record struct {
	Offset    int64
	Timestamp int64 // milliseconds since the Unix epoch
	Key       []byte
	Value     []byte
	Headers   []RecordHeader
}

// RecordHeader is one header of a record. Kafka forbids null header keys;
// a nil Value is a null header value.
type RecordHeader struct {
	Key   string
	Value []byte
}

// varintLen is the size of v as a zigzag varint.
func varintLen(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	return (bits.Len64(u|1) + 6) / 7
}

// bytesLen is the size of b as a varint length followed by its bytes, with
// nil written as length -1.
func bytesLen(b []byte) int {
	if b == nil {
		return 1
	}
	return varintLen(int64(len(b))) + len(b)
}

// recordBodySize is the size of a record after its length prefix.
func recordBodySize(timestampDelta int64, offsetDelta int32, key, value []byte, headers []RecordHeader) int {
	n := 1 + varintLen(timestampDelta) + varintLen(int64(offsetDelta)) +
		bytesLen(key) + bytesLen(value) + varintLen(int64(len(headers)))
	for i := range headers {
		n += varintLen(int64(len(headers[i].Key))) + len(headers[i].Key) + bytesLen(headers[i].Value)
	}
	return n
}

// appendBytes appends b as a varint length and its bytes (nil as -1).
func appendBytes(dst, b []byte) []byte {
	if b == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}

// appendRecord appends one length-prefixed record to dst.
func appendRecord(dst []byte, timestampDelta int64, offsetDelta int32, key, value []byte, headers []RecordHeader) []byte {
	body := recordBodySize(timestampDelta, offsetDelta, key, value, headers)
	dst = binary.AppendVarint(dst, int64(body))
	dst = append(dst, 0) // record attributes, unused
	dst = binary.AppendVarint(dst, timestampDelta)
	dst = binary.AppendVarint(dst, int64(offsetDelta))
	dst = appendBytes(dst, key)
	dst = appendBytes(dst, value)
	dst = binary.AppendVarint(dst, int64(len(headers)))
	for i := range headers {
		dst = binary.AppendVarint(dst, int64(len(headers[i].Key)))
		dst = append(dst, headers[i].Key...)
		dst = appendBytes(dst, headers[i].Value)
	}
	return dst
}

// recordReader walks a records section. The first error sticks: later
// reads return zero values, so callers check err once per record.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %w: %s", ErrCorruptBatch, ErrBadRecord, fmt.Sprintf(format, args...))
	}
	r.b = nil
}

func (r *recordReader) varlong() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) varint() int32 {
	v := r.varlong()
	if v < math.MinInt32 || v > math.MaxInt32 {
		r.fail("varint %d out of int32 range", v)
		return 0
	}
	return int32(v)
}

func (r *recordReader) byte() byte {
	if len(r.b) == 0 {
		r.fail("record ends early")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// bytes reads a varint length and that many bytes, nil for length -1. The
// result aliases the input with its capacity clipped.
func (r *recordReader) bytes(nullable bool) []byte {
	n := r.varint()
	if r.err != nil {
		return nil
	}
	switch {
	case n == -1 && nullable:
		return nil
	case n < 0:
		r.fail("negative length %d", n)
		return nil
	case int(n) > len(r.b):
		r.fail("length %d past end of record", n)
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

// rawRecord is a record as stored: deltas rather than absolute values.
type rawRecord struct {
	timestampDelta int64
	offsetDelta    int32
	key, value     []byte
}

// next reads one length-prefixed record, appending its headers to hdrs.
func (r *recordReader) next(hdrs []RecordHeader) (rawRecord, []RecordHeader) {
	length := r.varint()
	if r.err != nil {
		return rawRecord{}, hdrs
	}
	if length < 0 || int(length) > len(r.b) {
		r.fail("record length %d, %d bytes left", length, len(r.b))
		return rawRecord{}, hdrs
	}
	body := recordReader{b: r.b[:length]}
	r.b = r.b[length:]

	var rec rawRecord
	body.byte() // record attributes, unused
	rec.timestampDelta = body.varlong()
	rec.offsetDelta = body.varint()
	rec.key = body.bytes(true)
	rec.value = body.bytes(true)
	count := body.varint()
	if body.err == nil && (count < 0 || int(count) > len(body.b)/2) {
		body.fail("header count %d, %d bytes left", count, len(body.b))
	}
	for i := int32(0); i < count && body.err == nil; i++ {
		k := body.bytes(false)
		v := body.bytes(true)
		if body.err == nil {
			hdrs = append(hdrs, RecordHeader{Key: string(k), Value: v})
		}
	}
	if body.err == nil && len(body.b) != 0 {
		body.fail("%d trailing bytes in record", len(body.b))
	}
	if body.err != nil {
		r.err = body.err
		r.b = nil
	}
	return rec, hdrs
}
