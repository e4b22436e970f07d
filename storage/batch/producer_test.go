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
