package group

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

// Each fuzz target checks the decoder's stated invariants: no panic, a
// decoded record re-encodes to bytes that decode to the same record, and a
// record followed by junk is rejected rather than misread.

func FuzzDecodeOffsetKey(f *testing.F) {
	f.Add(OffsetKey{Group: "g", Topic: "t", Partition: 3}.Encode())
	f.Add(EncodeGroupKey("g"))
	f.Add([]byte{0, 0, 0, 1, 'g', 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := DecodeOffsetKey(b)
		if err != nil {
			return
		}
		enc := k.Encode()
		k2, err := DecodeOffsetKey(enc)
		if err != nil || k2 != k {
			t.Fatalf("re-decode %+v vs %+v: %v", k2, k, err)
		}
		if b[1] == 1 && !bytes.Equal(enc, b) {
			t.Fatalf("version 1 key re-encodes differently: %x vs %x", enc, b)
		}
		if _, err := DecodeOffsetKey(append(bytes.Clone(b), 0)); err == nil {
			t.Fatal("trailing byte accepted")
		}
	})
}

func FuzzDecodeOffsetValue(f *testing.F) {
	f.Add(OffsetValue{Offset: 5, LeaderEpoch: 2, Metadata: "m", CommitTimestamp: 9}.Encode())
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeOffsetValue(b)
		if err != nil || v == nil {
			return
		}
		enc := v.Encode()
		v2, err := DecodeOffsetValue(enc)
		if err != nil || *v2 != *v {
			t.Fatalf("re-decode %+v vs %+v: %v", v2, v, err)
		}
		if b[1] == 3 && !bytes.Equal(enc, b) {
			t.Fatalf("version 3 value re-encodes differently: %x vs %x", enc, b)
		}
		if _, err := DecodeOffsetValue(append(bytes.Clone(b), 0)); err == nil {
			t.Fatal("trailing byte accepted")
		}
	})
}

func FuzzDecodeGroupMetadata(f *testing.F) {
	f.Add(sampleMetadata().Encode())
	f.Add((&Metadata{ProtocolType: "consumer", Generation: 1}).Encode())
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := DecodeMetadata(b)
		if err != nil || md == nil {
			return
		}
		md2, err := DecodeMetadata(md.Encode())
		if err != nil || !reflect.DeepEqual(md2, md) {
			t.Fatalf("re-decode %+v vs %+v: %v", md2, md, err)
		}
		if _, err := DecodeMetadata(append(bytes.Clone(b), 0)); err == nil {
			t.Fatal("trailing byte accepted")
		}
		// Whatever decodes can be loaded, and loading does not panic.
		g, err := New("g", DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Load(time.Unix(0, 0), md); err == nil {
			checkInvariants(t, g, 0)
			_ = g.Describe()
			g.Tick(time.Unix(3600, 0))
			checkInvariants(t, g, 1)
		}
	})
}
