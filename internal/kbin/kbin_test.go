package kbin

import (
	"bytes"
	"errors"
	"testing"
)

var (
	errShort = errors.New("short")
	errBad   = errors.New("bad")
)

func TestReaderRoundTrip(t *testing.T) {
	var b []byte
	b = AppendInt16(b, -2)
	b = AppendInt32(b, 7)
	b = AppendInt64(b, -9)
	b = AppendString(b, "topic")
	b = AppendNullableString(b, "")
	b = AppendNullableBytes(b, nil)
	b = AppendNullableBytes(b, []byte{})
	b = AppendInt32(b, -1) // null array
	r := NewReader(b, errShort, errBad)
	if r.Int16() != -2 || r.Int32() != 7 || r.Int64() != -9 || r.String() != "topic" || r.NullableString() != "" {
		t.Fatal("scalars did not round-trip")
	}
	if v := r.NullableBytes(); v != nil {
		t.Fatalf("null bytes read as %v", v)
	}
	if v := r.NullableBytes(); v == nil || len(v) != 0 {
		t.Fatalf("empty bytes read as %v", v)
	}
	if n := r.ArrayLen(4, true); n != 0 || r.Err() != nil || r.Remaining() != 0 {
		t.Fatalf("null array: n=%d err=%v remaining=%d", n, r.Err(), r.Remaining())
	}
}

func TestReaderErrorsStick(t *testing.T) {
	r := NewReader([]byte{0, 1}, errShort, errBad)
	if r.Int32(); !errors.Is(r.Err(), errShort) {
		t.Fatalf("truncated int32: %v", r.Err())
	}
	if r.Int16() != 0 || !errors.Is(r.Err(), errShort) {
		t.Fatal("reads after an error must return zero and keep the first error")
	}
	r = NewReader(AppendInt32(nil, -1), errShort, errBad)
	if r.ArrayLen(4, false); !errors.Is(r.Err(), errBad) {
		t.Fatalf("null array where none is allowed: %v", r.Err())
	}
	r = NewReader(AppendInt32(nil, 1000), errShort, errBad)
	if r.ArrayLen(4, false); !errors.Is(r.Err(), errBad) {
		t.Fatalf("array longer than the input: %v", r.Err())
	}
	long := AppendString(nil, string(bytes.Repeat([]byte("x"), 1<<16)))
	if got := NewReader(long, errShort, errBad).String(); len(got) != 1<<15-1 {
		t.Fatalf("over-long string written as %d bytes, want the int16 limit", len(got))
	}
}

func TestReaderFlexible(t *testing.T) {
	truncated, invalid := errors.New("truncated"), errors.New("invalid")
	// int8 -3, uvarint 300, compact "ab", compact array of 2 (then 8 bytes),
	// tags: one field of 2 bytes, then a null array.
	b := []byte{0xfd, 0xac, 0x02, 3, 'a', 'b', 3, 0, 0, 0, 1, 0, 0, 0, 2, 1, 7, 2, 9, 9, 0}
	r := NewReader(b, truncated, invalid)
	if v := r.Int8(); v != -3 {
		t.Fatalf("int8 %d", v)
	}
	if v := r.Uvarint(); v != 300 {
		t.Fatalf("uvarint %d", v)
	}
	if v := r.CompactString(); v != "ab" {
		t.Fatalf("string %q", v)
	}
	if n := r.CompactArrayLen(4, false); n != 2 {
		t.Fatalf("array %d", n)
	}
	if a, b := r.Int32(), r.Int32(); a != 1 || b != 2 {
		t.Fatalf("elements %d %d", a, b)
	}
	r.SkipTags()
	if n := r.CompactArrayLen(4, true); n != 0 || r.Err() != nil || r.Remaining() != 0 {
		t.Fatalf("null array %d %v %d", n, r.Err(), r.Remaining())
	}

	// Impossible lengths and truncation fail with the caller's sentinels.
	for _, c := range []struct {
		in   []byte
		read func(*Reader)
		want error
	}{
		{[]byte{0x80}, func(r *Reader) { r.Uvarint() }, truncated},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, func(r *Reader) { r.Uvarint() }, invalid},
		{[]byte{5, 'a'}, func(r *Reader) { r.CompactString() }, truncated},
		{[]byte{0}, func(r *Reader) { r.CompactString() }, invalid},
		{[]byte{0x7f, 0, 0}, func(r *Reader) { r.CompactArrayLen(4, false) }, invalid},
		{[]byte{0}, func(r *Reader) { r.CompactArrayLen(4, false) }, invalid},
		{[]byte{1, 0, 5, 1}, func(r *Reader) { r.SkipTags() }, truncated},
	} {
		r := NewReader(c.in, truncated, invalid)
		c.read(r)
		if !errors.Is(r.Err(), c.want) {
			t.Fatalf("%x: %v, want %v", c.in, r.Err(), c.want)
		}
	}
}
