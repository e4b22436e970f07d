package kbin

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The flexible formats (KIP-482) add unsigned varints, "compact" strings
// and arrays whose length is stored plus one (0 meaning null), and tagged
// fields: a varint count, then per field a varint tag, a varint size and
// that many bytes.

// Int8 reads one signed byte.
func (r *Reader) Int8() int8 {
	if v := r.take(1); v != nil {
		return int8(v[0])
	}
	return 0
}

// Uvarint reads an unsigned varint of at most 32 bits.
func (r *Reader) Uvarint() uint32 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	switch {
	case n == 0:
		r.Fail(r.truncated)
		return 0
	case n < 0 || v > math.MaxUint32:
		r.Fail(fmt.Errorf("%w: varint overflows 32 bits", r.invalid))
		return 0
	}
	r.b = r.b[n:]
	return uint32(v)
}

// Skip drops n bytes.
func (r *Reader) Skip(n int) { r.take(n) }

// CompactString reads a non-null compact string.
func (r *Reader) CompactString() string {
	n := r.Uvarint()
	if r.err != nil {
		return ""
	}
	if n == 0 {
		r.Fail(fmt.Errorf("%w: null compact string", r.invalid))
		return ""
	}
	if uint64(n-1) > uint64(len(r.b)) {
		r.Fail(r.truncated)
		return ""
	}
	return string(r.take(int(n - 1)))
}

// CompactArrayLen reads a compact array length, rejecting counts that
// cannot fit in the rest of the input (each element takes at least
// minSize bytes). A null array reads as 0 when nullOK, and is invalid
// otherwise.
func (r *Reader) CompactArrayLen(minSize int, nullOK bool) int {
	n := r.Uvarint()
	if r.err != nil {
		return 0
	}
	if n == 0 {
		if !nullOK {
			r.Fail(fmt.Errorf("%w: null compact array", r.invalid))
		}
		return 0
	}
	if uint64(n-1) > uint64(len(r.b)/minSize) {
		r.Fail(fmt.Errorf("%w: array length %d", r.invalid, n-1))
		return 0
	}
	return int(n - 1)
}

// SkipTags reads a tagged-field section and drops every field.
func (r *Reader) SkipTags() {
	for n := r.Uvarint(); n > 0 && r.err == nil; n-- {
		r.Uvarint() // tag
		size := r.Uvarint()
		if r.err == nil && uint64(size) > uint64(len(r.b)) {
			r.Fail(r.truncated)
			return
		}
		r.Skip(int(size))
	}
}

// AppendInt8 appends v.
func AppendInt8(b []byte, v int8) []byte { return append(b, byte(v)) }
