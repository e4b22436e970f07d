package group

import (
	"errors"
	"reflect"
	"testing"
)

func TestReplayRebuildsLatestState(t *testing.T) {
	r := NewReplay()
	key := func(g, topic string, p int32) []byte { return OffsetKey{Group: g, Topic: topic, Partition: p}.Encode() }
	val := func(off int64) []byte { return OffsetValue{Offset: off, LeaderEpoch: -1}.Encode() }
	md1 := &Metadata{ProtocolType: "consumer", Generation: 1, StateTimestamp: -1}
	md2 := sampleMetadata()
	records := []struct{ key, value []byte }{
		{key("g1", "t", 0), val(5)},
		{key("g1", "t", 0), val(9)}, // a later commit replaces
		{key("g1", "t", 1), val(3)},
		{key("g1", "t", 1), nil}, // a tombstone deletes
		{key("g2", "u", 0), val(1)},
		{key("g2", "u", 0), []byte{}}, // empty values are tombstones too
		{EncodeGroupKey("g1"), md1.Encode()},
		{EncodeGroupKey("g1"), md2.Encode()},
		{EncodeGroupKey("g3"), md1.Encode()},
		{EncodeGroupKey("g3"), nil},
	}
	for _, rec := range records {
		if err := r.Apply(rec.key, rec.value); err != nil {
			t.Fatal(err)
		}
	}
	wantOffsets := map[string]map[Partition]OffsetValue{"g1": {{"t", 0}: {Offset: 9, LeaderEpoch: -1}}}
	if !reflect.DeepEqual(r.Offsets, wantOffsets) {
		t.Fatalf("offsets %+v", r.Offsets)
	}
	if len(r.Groups) != 1 || !reflect.DeepEqual(r.Groups["g1"], md2) {
		t.Fatalf("groups %+v", r.Groups)
	}
	if err := r.Apply([]byte{0, 7}, nil); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("unknown key: %v", err)
	}
	if err := r.Apply(key("g1", "t", 0), []byte{0, 3, 1}); !errors.Is(err, ErrTruncated) || r.Offsets["g1"][Partition{"t", 0}].Offset != 9 {
		t.Fatalf("bad value: %v, offsets %+v", err, r.Offsets)
	}
}
