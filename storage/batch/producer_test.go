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
		size := a.MergedSize(b)
		a.Merge(b)
		if a.EstimatedSize() != size {
			t.Fatalf("split at %d: MergedSize %d, size after Merge %d", split, size, a.EstimatedSize())
		}
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

// TestMergedSizeGrowsWithDeltas: merging many records makes their offset
// deltas longer, which MergedSize accounts for.
func TestMergedSizeGrowsWithDeltas(t *testing.T) {
	a, b := NewBuilder(DefaultEncodeOptions()), NewBuilder(DefaultEncodeOptions())
	for i := range 200 {
		a.Append(int64(i), nil, []byte("x"), nil)
		b.Append(int64(100000+i), nil, []byte("y"), nil)
	}
	size := a.MergedSize(b)
	if size <= a.EstimatedSize()+b.EstimatedSize()-HeaderSize {
		t.Fatalf("MergedSize %d, not above the plain sum %d", size, a.EstimatedSize()+b.EstimatedSize()-HeaderSize)
	}
	a.Merge(b)
	if a.EstimatedSize() != size {
		t.Fatalf("MergedSize %d, size after Merge %d", size, a.EstimatedSize())
	}
}
