package batch

import (
	"errors"
	"testing"
)

func TestControlRoundTrip(t *testing.T) {
	for _, typ := range []ControlType{ControlAbort, ControlCommit} {
		b, err := EncodeControl(typ, 1234, 7, 99, 1_700_000_000_123)
		if err != nil {
			t.Fatal(err)
		}
		SetBaseOffset(b, 50)
		h, recs, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if !h.Attributes.Control() || !h.Attributes.Transactional() || h.Attributes.Codec() != CodecNone ||
			h.ProducerID != 1234 || h.ProducerEpoch != 7 || h.BaseSequence != -1 || h.RecordCount != 1 ||
			h.BaseTimestamp != 1_700_000_000_123 || h.MaxTimestamp != 1_700_000_000_123 {
			t.Fatalf("%s: header %+v", typ, h)
		}
		if len(recs) != 1 || recs[0].Offset != 50 || recs[0].Timestamp != 1_700_000_000_123 {
			t.Fatalf("%s: records %+v", typ, recs)
		}
		got, epoch, err := ParseControl(recs[0])
		if err != nil || got != typ || epoch != 99 {
			t.Fatalf("ParseControl: %v %d %v, want %v 99", got, epoch, err, typ)
		}
	}
}

func TestControlRejects(t *testing.T) {
	if _, err := EncodeControl(ControlType(2), 1, 1, 1, 0); !errors.Is(err, ErrBadControl) {
		t.Fatalf("EncodeControl(2): %v", err)
	}
	value := []byte{0, 0, 0, 0, 0, 5}
	cases := []struct {
		name string
		rec  Record
	}{
		{"null key", Record{Value: value}},
		{"short key", Record{Key: []byte{0, 0, 1}, Value: value}},
		{"negative key version", Record{Key: []byte{0xff, 0xff, 0, 1}, Value: value}},
		{"unknown type", Record{Key: []byte{0, 0, 0, 3}, Value: value}},
		{"short value", Record{Key: []byte{0, 0, 0, 1}, Value: value[:5]}},
		{"negative value version", Record{Key: []byte{0, 0, 0, 1}, Value: []byte{0x80, 0, 0, 0, 0, 5}}},
	}
	for _, tc := range cases {
		if _, _, err := ParseControl(tc.rec); !errors.Is(err, ErrBadControl) {
			t.Errorf("%s: got %v, want ErrBadControl", tc.name, err)
		}
	}
	// A newer version with extra bytes still reads.
	typ, epoch, err := ParseControl(Record{Key: []byte{0, 1, 0, 0, 9}, Value: []byte{0, 1, 0, 0, 0, 5, 9, 9}})
	if err != nil || typ != ControlAbort || epoch != 5 {
		t.Fatalf("newer version: %v %d %v", typ, epoch, err)
	}
}
