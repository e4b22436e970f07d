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
