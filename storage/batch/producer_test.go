package batch

import (
	"math"
	"testing"
)

func TestSetProducerKeepsBatchValid(t *testing.T) {
	b := NewBuilder(DefaultEncodeOptions())
	b.Append(1000, []byte("k"), []byte("v"), nil)
	b.Append(1001, nil, []byte("w"), nil)
	b.SetProducer(7, 2, 40)
	raw, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	h, err := Validate(raw)
	if err != nil || h.ProducerID != 7 || h.ProducerEpoch != 2 || h.BaseSequence != 40 {
		t.Fatalf("built header %+v, %v; want producer 7 epoch 2 sequence 40", h, err)
	}
	SetProducer(raw, 9, 0, 0)
	h, err = Validate(raw)
	if err != nil || h.ProducerID != 9 || h.ProducerEpoch != 0 || h.BaseSequence != 0 {
		t.Fatalf("rewritten header %+v, %v; want producer 9 epoch 0 sequence 0 and a valid CRC", h, err)
	}
	if _, recs, err := Decode(raw); err != nil || len(recs) != 2 || string(recs[1].Value) != "w" {
		t.Fatalf("records after rewrite: %v, %v", recs, err)
	}
}

func TestNextSequenceWraps(t *testing.T) {
	for _, tt := range []struct {
		base  int32
		count int
		want  int32
	}{
		{0, 5, 5},
		{math.MaxInt32 - 2, 2, math.MaxInt32},
		{math.MaxInt32 - 2, 3, 0},
		{math.MaxInt32, 10, 9},
	} {
		if got := NextSequence(tt.base, tt.count); got != tt.want {
			t.Errorf("NextSequence(%d, %d) = %d, want %d", tt.base, tt.count, got, tt.want)
		}
	}
}

func TestMergeEqualsAppendingOneByOne(t *testing.T) {
	recs := []Record{
		{Timestamp: 5000, Key: []byte("a"), Value: []byte("1")},
		{Timestamp: 4990, Value: []byte("2"), Headers: []RecordHeader{{Key: "h", Value: nil}}},
		{Timestamp: 7000, Key: []byte{}, Value: nil},
		{Timestamp: 6000, Key: []byte("d"), Value: make([]byte, 300)},
		{Timestamp: 1000, Value: []byte("5")},
	}
	all := NewBuilder(DefaultEncodeOptions())
	for _, r := range recs {
		all.Append(r.Timestamp, r.Key, r.Value, r.Headers)
	}
	want, err := all.Build()
	if err != nil {
		t.Fatal(err)
	}
	for split := 0; split <= len(recs); split++ {
		a, b := NewBuilder(DefaultEncodeOptions()), NewBuilder(DefaultEncodeOptions())
		for i, r := range recs {
			if i < split {
				a.Append(r.Timestamp, r.Key, r.Value, r.Headers)
			} else {
				b.Append(r.Timestamp, r.Key, r.Value, r.Headers)
			}
		}
		a.Merge(b)
		got, err := a.Build()
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Fatalf("split at %d: merged batch differs from appending one by one", split)
		}
		if _, err := Check(got, CheckOptions{}); err != nil {
			t.Fatalf("split at %d: merged batch fails Check: %v", split, err)
		}
	}
}
