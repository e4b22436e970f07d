package producerstate

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
)

// hdr is the header of a data batch of n records from producer pid.
func hdr(pid int64, epoch int16, seq int32, n int32, offset int64) batch.Header {
	return batch.Header{
		BaseOffset: offset, LastOffsetDelta: n - 1, RecordCount: n, Magic: batch.Magic,
		ProducerID: pid, ProducerEpoch: epoch, BaseSequence: seq,
		BaseTimestamp: 1000, MaxTimestamp: 1000 + offset,
	}
}

func txnHdr(pid int64, epoch int16, seq int32, n int32, offset int64) batch.Header {
	h := hdr(pid, epoch, seq, n, offset)
	h.Attributes = 0x10
	return h
}

func markerHdr(pid int64, epoch int16, offset int64) batch.Header {
	return batch.Header{BaseOffset: offset, RecordCount: 1, Magic: batch.Magic, Attributes: 0x30,
		ProducerID: pid, ProducerEpoch: epoch, BaseSequence: -1, MaxTimestamp: 5000}
}

func TestCheck(t *testing.T) {
	// The state every case starts from: producer 1 in epoch 3 wrote seven
	// batches of 10 records (sequences 0-69) at offsets 100, 110, ...;
	// producer 2 has a transaction open.
	base := func() *State {
		s := New(Config{}, 0)
		for i := range int32(7) {
			s.Apply(hdr(1, 3, i*10, 10, 100+int64(i)*10), nil)
		}
		s.Apply(txnHdr(2, 0, 0, 1, 500), nil)
		return s
	}
	for _, c := range []struct {
		name    string
		batches []batch.Header
		wantErr error
		dup     *BatchMetadata
	}{
		{"next sequence", []batch.Header{hdr(1, 3, 70, 5, 0)}, nil, nil},
		{"gap", []batch.Header{hdr(1, 3, 71, 5, 0)}, ErrOutOfOrderSequence, nil},
		{"behind, not a retained range", []batch.Header{hdr(1, 3, 65, 5, 0)}, ErrOutOfOrderSequence, nil},
		{"retry of the last batch", []batch.Header{hdr(1, 3, 60, 10, 0)},
			nil, &BatchMetadata{FirstSeq: 60, LastSeq: 69, FirstOffset: 160, LastOffset: 169, Timestamp: 1160}},
		{"retry of the fifth latest", []batch.Header{hdr(1, 3, 20, 10, 0)},
			nil, &BatchMetadata{FirstSeq: 20, LastSeq: 29, FirstOffset: 120, LastOffset: 129, Timestamp: 1120}},
		{"retry older than five batches", []batch.Header{hdr(1, 3, 10, 10, 0)}, ErrOutOfOrderSequence, nil},
		{"same start, other length", []batch.Header{hdr(1, 3, 60, 5, 0)}, ErrOutOfOrderSequence, nil},
		{"older epoch", []batch.Header{hdr(1, 2, 70, 1, 0)}, ErrInvalidProducerEpoch, nil},
		{"older epoch retry", []batch.Header{hdr(1, 2, 60, 10, 0)}, ErrInvalidProducerEpoch, nil},
		{"new epoch at 0", []batch.Header{hdr(1, 4, 0, 1, 0)}, nil, nil},
		{"new epoch not at 0", []batch.Header{hdr(1, 4, 70, 1, 0)}, ErrOutOfOrderSequence, nil},
		{"unknown producer at 0", []batch.Header{hdr(9, 0, 0, 1, 0)}, nil, nil},
		{"unknown producer mid-stream (KIP-360)", []batch.Header{hdr(9, 5, 1234, 1, 0)}, nil, nil},
		{"no producer id", []batch.Header{hdr(-1, -1, -1, 3, 0)}, nil, nil},
		{"transactional after transactional", []batch.Header{txnHdr(2, 0, 1, 1, 0)}, nil, nil},
		{"plain batch inside a transaction", []batch.Header{hdr(2, 0, 1, 1, 0)}, ErrInvalidTxnState, nil},
		{"request: consecutive batches", []batch.Header{hdr(1, 3, 70, 5, 0), hdr(1, 3, 75, 5, 0)}, nil, nil},
		{"request: second batch skips", []batch.Header{hdr(1, 3, 70, 5, 0), hdr(1, 3, 76, 5, 0)}, ErrOutOfOrderSequence, nil},
		{"request: unknown producer, then a gap", []batch.Header{hdr(9, 0, 0, 5, 0), hdr(9, 0, 6, 1, 0)}, ErrOutOfOrderSequence, nil},
		{"request: new epoch, then its next", []batch.Header{hdr(1, 4, 0, 2, 0), hdr(1, 4, 2, 2, 0)}, nil, nil},
		{"request: a transaction begins, then a plain batch", []batch.Header{txnHdr(1, 3, 70, 1, 0), hdr(1, 3, 71, 1, 0)}, ErrInvalidTxnState, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := base()
			before := EncodeSnapshot(s.Entries())
			dup, isDup, err := s.Check(c.batches)
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil && err != nil) {
				t.Fatalf("err %v, want %v", err, c.wantErr)
			}
			if isDup != (c.dup != nil) || (c.dup != nil && dup != *c.dup) {
				t.Fatalf("duplicate %v %+v, want %+v", isDup, dup, c.dup)
			}
			if string(EncodeSnapshot(s.Entries())) != string(before) {
				t.Fatal("Check changed the state")
			}
		})
	}
}

func TestSequenceWrapsAtMaxInt32(t *testing.T) {
	s := New(Config{}, 0)
	s.Apply(hdr(1, 0, math.MaxInt32-1, 2, 0), nil) // MaxInt32-1, MaxInt32
	if got := LastSequence(hdr(1, 0, math.MaxInt32-1, 4, 0)); got != 1 {
		t.Fatalf("last sequence of a wrapping batch %d, want 1", got)
	}
	if _, _, err := s.Check([]batch.Header{hdr(1, 0, 0, 3, 2)}); err != nil {
		t.Fatalf("sequence 0 after MaxInt32: %v", err)
	}
	if _, _, err := s.Check([]batch.Header{hdr(1, 0, 1, 3, 2)}); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("sequence 1 after MaxInt32: %v", err)
	}
	s.Apply(hdr(1, 0, 0, 3, 2), nil)
	if dup, ok, _ := s.Check([]batch.Header{hdr(1, 0, math.MaxInt32-1, 2, 0)}); !ok || dup.FirstOffset != 0 {
		t.Fatalf("retry across the wrap not a duplicate: %v %+v", ok, dup)
	}
}

func TestMarkersCloseTransactions(t *testing.T) {
	s := New(Config{}, 0)
	s.Apply(txnHdr(1, 0, 0, 2, 10), nil)
	s.Apply(txnHdr(2, 0, 0, 1, 12), nil)
	s.Apply(txnHdr(1, 0, 2, 2, 13), nil)
	if first, ok := s.FirstUndecidedOffset(); !ok || first != 10 {
		t.Fatalf("first undecided %d %v, want 10", first, ok)
	}
	done := s.Apply(markerHdr(1, 0, 15), &Marker{Type: batch.ControlAbort, CoordinatorEpoch: 4, Timestamp: 7000})
	if done == nil || *done != (CompletedTxn{ProducerID: 1, FirstOffset: 10, LastOffset: 15, Aborted: true, LastStableOffset: 12}) {
		t.Fatalf("completed %+v", done)
	}
	if first, ok := s.FirstUndecidedOffset(); !ok || first != 12 {
		t.Fatalf("first undecided %d %v, want 12", first, ok)
	}
	// A second marker of the same transaction ends nothing.
	if again := s.Apply(markerHdr(1, 0, 16), &Marker{Type: batch.ControlAbort, CoordinatorEpoch: 4}); again != nil {
		t.Fatalf("second marker completed %+v", again)
	}
	// The sequence goes on in the same epoch after the marker.
	if _, _, err := s.Check([]batch.Header{txnHdr(1, 0, 4, 1, 0)}); err != nil {
		t.Fatal(err)
	}
	// Markers: older producer epoch or coordinator epoch are refused.
	if err := s.CheckMarker(1, 0, 4); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckMarker(1, 0, 3); !errors.Is(err, ErrCoordinatorFenced) {
		t.Fatalf("old coordinator: %v", err)
	}
	if err := s.CheckMarker(2, -1, 0); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("old producer epoch: %v", err)
	}
	if err := s.CheckMarker(77, 0, 0); err != nil {
		t.Fatalf("marker for an unknown producer: %v", err)
	}
	// A marker with a bumped epoch (a fence) resets the sequence.
	done = s.Apply(markerHdr(2, 1, 20), &Marker{Type: batch.ControlAbort, CoordinatorEpoch: 4})
	if done == nil || done.FirstOffset != 12 {
		t.Fatalf("fence completed %+v", done)
	}
	if _, _, err := s.Check([]batch.Header{hdr(2, 1, 1, 1, 0)}); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("after an epoch bump by marker, sequence 1: %v", err)
	}
	if _, _, err := s.Check([]batch.Header{hdr(2, 1, 0, 1, 0)}); err != nil {
		t.Fatalf("after an epoch bump by marker, sequence 0: %v", err)
	}
	if _, ok := s.FirstUndecidedOffset(); ok {
		t.Fatal("transactions still open")
	}
}

func TestExpiration(t *testing.T) {
	s := New(Config{Expiration: time.Second}, 0)
	s.Apply(hdr(1, 0, 0, 1, 0), nil)    // timestamp 1000
	s.Apply(txnHdr(2, 0, 0, 1, 1), nil) // timestamp 1001, open transaction
	s.Apply(hdr(3, 0, 0, 1, 1500), nil) // timestamp 2500
	if n := s.RemoveExpired(1999); n != 0 {
		t.Fatalf("expired %d at 1999", n)
	}
	if n := s.RemoveExpired(2000); n != 1 || s.Len() != 2 {
		t.Fatalf("expired %d at 2000, %d left", n, s.Len())
	}
	if _, ok := s.Entry(2); !ok {
		t.Fatal("a producer with an open transaction expired")
	}
	// A snapshot loaded later leaves out what expired meanwhile.
	if got := FromEntries(s.cfg, 0, s.Entries(), 3500).Len(); got != 1 {
		t.Fatalf("%d entries loaded at 3500, want 1", got)
	}
}

func TestMaxProducersEvictsTheLeastRecent(t *testing.T) {
	s := New(Config{MaxProducers: 3}, 0)
	s.Apply(hdr(1, 0, 0, 1, 5), nil)
	s.Apply(txnHdr(2, 0, 0, 1, 1), nil) // oldest, but in a transaction
	s.Apply(hdr(3, 0, 0, 1, 9), nil)
	s.Apply(hdr(4, 0, 0, 1, 10), nil)
	if _, ok := s.Entry(1); ok || s.Len() != 3 {
		t.Fatalf("producer 1 kept, %d tracked", s.Len())
	}
	full := New(Config{MaxProducers: 1}, 0)
	full.Apply(txnHdr(1, 0, 0, 1, 0), nil)
	if _, _, err := full.Check([]batch.Header{hdr(2, 0, 0, 1, 0)}); !errors.Is(err, ErrTooManyProducers) {
		t.Fatalf("new producer with every tracked one in a transaction: %v", err)
	}
}

func TestApplyBatchesReadsMarkers(t *testing.T) {
	data, err := batch.EncodeControl(batch.ControlCommit, 5, 2, 9, 4242)
	if err != nil {
		t.Fatal(err)
	}
	batch.SetBaseOffset(data, 3)
	s := New(Config{}, 0)
	s.Apply(txnHdr(5, 2, 0, 3, 0), nil)
	done, err := s.ApplyBatches(data)
	if err != nil || len(done) != 1 || done[0] != (CompletedTxn{ProducerID: 5, FirstOffset: 0, LastOffset: 3, LastStableOffset: 4}) {
		t.Fatalf("completed %+v, %v", done, err)
	}
	e, _ := s.Entry(5)
	if e.CoordinatorEpoch != 9 || e.LastTimestamp != 4242 || s.End() != 4 {
		t.Fatalf("entry %+v end %d", e, s.End())
	}
}

func TestLastStableOffset(t *testing.T) {
	s := New(Config{}, 0)
	s.Apply(hdr(9, 0, 0, 5, 0), nil) // plain records 0-4
	s.Apply(txnHdr(1, 0, 0, 2, 5), nil)
	s.Apply(txnHdr(2, 0, 0, 2, 7), nil)
	for _, c := range []struct{ hw, want int64 }{{3, 3}, {5, 5}, {9, 5}} {
		if got := s.LastStableOffset(c.hw); got != c.want {
			t.Fatalf("hw %d: lso %d, want %d", c.hw, got, c.want)
		}
	}
	// Producer 1 commits at 9: its records stay unstable until the
	// marker is below the high watermark.
	s.Apply(markerHdr(1, 0, 9), &Marker{Type: batch.ControlCommit})
	if got := s.LastStableOffset(9); got != 5 {
		t.Fatalf("marker not replicated: lso %d, want 5", got)
	}
	if got := s.LastStableOffset(10); got != 7 {
		t.Fatalf("marker replicated: lso %d, want 7 (producer 2 still open)", got)
	}
	s.Apply(markerHdr(2, 0, 10), &Marker{Type: batch.ControlAbort})
	if got := s.LastStableOffset(11); got != 11 {
		t.Fatalf("all decided: lso %d, want the high watermark 11", got)
	}
}
