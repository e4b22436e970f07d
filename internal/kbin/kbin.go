package kbin

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Reader decodes from a byte slice. The first error sticks.
type Reader struct {
	b         []byte
	err       error
	truncated error // returned when the input ends inside a field
	invalid   error // wrapped for impossible values (negative lengths)
}

// NewReader reads b, reporting truncated input with truncated and
// impossible values wrapped in invalid.
func NewReader(b []byte, truncated, invalid error) *Reader {
	return &Reader{b: b, truncated: truncated, invalid: invalid}
}

// Err is the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Remaining is the number of unread bytes.
func (r *Reader) Remaining() int { return len(r.b) }

// Fail records err unless an error is already recorded, and stops reading.
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
		r.b = nil
	}
}

func (r *Reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.Fail(r.truncated)
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// Int16 reads a big-endian int16.
func (r *Reader) Int16() int16 {
	if v := r.take(2); v != nil {
		return int16(binary.BigEndian.Uint16(v))
	}
	return 0
}

// Int32 reads a big-endian int32.
func (r *Reader) Int32() int32 {
	if v := r.take(4); v != nil {
		return int32(binary.BigEndian.Uint32(v))
	}
	return 0
}

// Int64 reads a big-endian int64.
func (r *Reader) Int64() int64 {
	if v := r.take(8); v != nil {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

// String reads a non-null string.
func (r *Reader) String() string {
	n := r.Int16()
	if n < 0 {
		r.Fail(fmt.Errorf("%w: string length %d", r.invalid, n))
		return ""
	}
	return string(r.take(int(n)))
}

// NullableString reads a string; null reads as "".
func (r *Reader) NullableString() string {
	n := r.Int16()
	if n == -1 {
		return ""
	}
	if n < 0 {
		r.Fail(fmt.Errorf("%w: string length %d", r.invalid, n))
		return ""
	}
	return string(r.take(int(n)))
}

// NullableBytes reads a byte field; null reads as nil, empty as a non-nil
// empty slice. The result is a copy.
func (r *Reader) NullableBytes() []byte {
	n := r.Int32()
	if n == -1 {
		return nil
	}
	if n < 0 {
		r.Fail(fmt.Errorf("%w: bytes length %d", r.invalid, n))
		return nil
	}
	v := r.take(int(n))
	if v == nil {
		return nil
	}
	return append([]byte{}, v...)
}

// ArrayLen reads an array length and rejects counts that cannot fit in the
// rest of the input (each element takes at least minSize bytes), so corrupt
// input cannot make a decoder allocate. A null array (-1) reads as empty
// when nullOK, and is invalid otherwise.
func (r *Reader) ArrayLen(minSize int, nullOK bool) int {
	n := r.Int32()
	if r.err != nil || (n == -1 && nullOK) {
		return 0
	}
	if n < 0 || int(n) > len(r.b)/minSize {
		r.Fail(fmt.Errorf("%w: array length %d", r.invalid, n))
		return 0
	}
	return int(n)
}

// AppendInt16 appends v big-endian.
func AppendInt16(b []byte, v int16) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }

// AppendInt32 appends v big-endian.
func AppendInt32(b []byte, v int32) []byte { return binary.BigEndian.AppendUint32(b, uint32(v)) }

// AppendInt64 appends v big-endian.
func AppendInt64(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

// AppendString appends s, cut to the int16 length limit of the format.
func AppendString(b []byte, s string) []byte {
	if len(s) > math.MaxInt16 {
		s = s[:math.MaxInt16]
	}
	b = AppendInt16(b, int16(len(s)))
	return append(b, s...)
}

// AppendNullableString appends s, writing "" as null.
func AppendNullableString(b []byte, s string) []byte {
	if s == "" {
		return AppendInt16(b, -1)
	}
	return AppendString(b, s)
}

// AppendNullableBytes appends v, writing nil as null and an empty slice as
// empty.
func AppendNullableBytes(b []byte, v []byte) []byte {
	if v == nil {
		return AppendInt32(b, -1)
	}
	b = AppendInt32(b, int32(len(v)))
	return append(b, v...)
}
