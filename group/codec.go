package group

import (
	"encoding/binary"
	"fmt"
	"math"
)

// reader decodes Kafka's classic (non-flexible) primitive types: big-endian
// integers, strings with an int16 length, bytes with an int32 length, -1
// meaning null. The first error sticks; later reads return zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = ErrTruncated
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) int16() int16 {
	if v := r.take(2); v != nil {
		return int16(binary.BigEndian.Uint16(v))
	}
	return 0
}

func (r *reader) int32() int32 {
	if v := r.take(4); v != nil {
		return int32(binary.BigEndian.Uint32(v))
	}
	return 0
}

func (r *reader) int64() int64 {
	if v := r.take(8); v != nil {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

// nullableString reads a string; null reads as "".
func (r *reader) nullableString() string {
	n := r.int16()
	if n == -1 {
		return ""
	}
	if n < 0 {
		r.fail(fmt.Errorf("%w: string length %d", ErrInvalidRecord, n))
		return ""
	}
	return string(r.take(int(n)))
}

func (r *reader) string() string {
	n := r.int16()
	if n < 0 {
		r.fail(fmt.Errorf("%w: string length %d", ErrInvalidRecord, n))
		return ""
	}
	return string(r.take(int(n)))
}

// bytes reads a byte field; null reads as nil, empty as a non-nil empty
// slice. The result is a copy.
func (r *reader) bytes() []byte {
	n := r.int32()
	if n == -1 {
		return nil
	}
	if n < 0 {
		r.fail(fmt.Errorf("%w: bytes length %d", ErrInvalidRecord, n))
		return nil
	}
	v := r.take(int(n))
	if v == nil {
		return nil
	}
	return append([]byte{}, v...)
}

// arrayLen reads an array length, rejecting counts that cannot fit in the
// remaining input (each element takes at least minSize bytes), so corrupt
// input cannot make the decoder allocate.
func (r *reader) arrayLen(minSize int) int {
	n := r.int32()
	if r.err != nil {
		return 0
	}
	if n < 0 || int(n) > len(r.b)/minSize {
		r.fail(fmt.Errorf("%w: array length %d", ErrInvalidRecord, n))
		return 0
	}
	return int(n)
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
		r.b = nil
	}
}

// done returns the first error, or ErrTrailingBytes if input is left over.
func (r *reader) done() error {
	if r.err == nil && len(r.b) > 0 {
		return fmt.Errorf("%w: %d bytes", ErrTrailingBytes, len(r.b))
	}
	return r.err
}

func appendInt16(b []byte, v int16) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }
func appendInt32(b []byte, v int32) []byte { return binary.BigEndian.AppendUint32(b, uint32(v)) }
func appendInt64(b []byte, v int64) []byte { return binary.BigEndian.AppendUint64(b, uint64(v)) }

// appendString writes s, cut to the int16 length limit Kafka's format has.
func appendString(b []byte, s string) []byte {
	if len(s) > math.MaxInt16 {
		s = s[:math.MaxInt16]
	}
	b = appendInt16(b, int16(len(s)))
	return append(b, s...)
}

// appendNullableString writes "" as null.
func appendNullableString(b []byte, s string) []byte {
	if s == "" {
		return appendInt16(b, -1)
	}
	return appendString(b, s)
}

// appendBytes writes nil as null and an empty slice as empty.
func appendBytes(b []byte, v []byte) []byte {
	if v == nil {
		return appendInt32(b, -1)
	}
	b = appendInt32(b, int32(len(v)))
	return append(b, v...)
}
