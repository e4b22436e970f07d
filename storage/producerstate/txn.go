package producerstate

import (
	"fmt"
	"slices"

	"github.com/sluice-mq/sluice/storage/batch"
)

// Transactions: a transactional batch opens its producer's transaction
// (Apply), a marker ends it and reports it completed; the last stable
// offset holds back read_committed readers at the first undecided offset.

// CheckMarker vets a transaction coordinator's marker for producerID
// before it is appended: an older producer epoch than the partition has
// seen is ErrInvalidProducerEpoch, an older coordinator epoch
// ErrCoordinatorFenced. A marker for a producer without an open
// transaction here is accepted (it ends nothing).
func (s *State) CheckMarker(producerID int64, epoch int16, coordinatorEpoch int32) error {
	e, ok := s.producers[producerID]
	if !ok {
		return nil
	}
	if epoch < e.Epoch {
		return fmt.Errorf("%w: marker for producer %d epoch %d, partition has seen epoch %d", ErrInvalidProducerEpoch, producerID, epoch, e.Epoch)
	}
	if coordinatorEpoch < e.CoordinatorEpoch {
		return fmt.Errorf("%w: marker for producer %d from coordinator epoch %d, partition has seen %d", ErrCoordinatorFenced, producerID, coordinatorEpoch, e.CoordinatorEpoch)
	}
	return nil
}

func (s *State) applyMarker(h batch.Header, m Marker) *CompletedTxn {
	e := s.entry(h.ProducerID)
	var done *CompletedTxn
	if e.TxnFirstOffset >= 0 {
		done = &CompletedTxn{ProducerID: e.ProducerID, FirstOffset: e.TxnFirstOffset, LastOffset: h.BaseOffset, Aborted: m.Type == batch.ControlAbort}
		delete(s.ongoing, e.TxnFirstOffset)
		e.TxnFirstOffset = -1
		done.LastStableOffset = h.BaseOffset + 1
		if first, ok := s.FirstUndecidedOffset(); ok {
			done.LastStableOffset = first
		}
		s.unreplicated = append(s.unreplicated, *done)
	}
	e.setEpoch(h.ProducerEpoch)
	e.CoordinatorEpoch = m.CoordinatorEpoch
	e.LastTimestamp = m.Timestamp
	return done
}

// FirstUndecidedOffset is the first offset of the earliest open
// transaction; ok is false when none is open.
func (s *State) FirstUndecidedOffset() (offset int64, ok bool) {
	for first := range s.ongoing {
		if !ok || first < offset {
			offset, ok = first, true
		}
	}
	return offset, ok
}

// OnHighWatermark forgets the completed transactions whose marker the
// high watermark hw has passed (followers call it; LastStableOffset does
// it too).
func (s *State) OnHighWatermark(hw int64) {
	i := 0
	for ; i < len(s.unreplicated) && s.unreplicated[i].LastOffset < hw; i++ {
	}
	if i > 0 {
		s.unreplicated = append(s.unreplicated[:0], s.unreplicated[i:]...)
	}
}

// LastStableOffset is the first offset a read_committed consumer may not
// read yet given high watermark hw (Kafka's LSO): the smallest of hw, the
// first offset of every open transaction, and that of every completed
// transaction whose marker is not yet below hw. It also forgets the
// completed transactions hw has passed.
func (s *State) LastStableOffset(hw int64) int64 {
	s.OnHighWatermark(hw)
	lso := hw
	if first, ok := s.FirstUndecidedOffset(); ok {
		lso = min(lso, first)
	}
	for _, c := range s.unreplicated {
		lso = min(lso, c.FirstOffset)
	}
	return lso
}

// HasOpenTransactions reports whether any transaction is open.
func (s *State) HasOpenTransactions() bool { return len(s.ongoing) > 0 }

// OpenTransactions returns the open transactions (producer id and first
// offset), by first offset.
func (s *State) OpenTransactions() []CompletedTxn {
	out := make([]CompletedTxn, 0, len(s.ongoing))
	for first, pid := range s.ongoing {
		out = append(out, CompletedTxn{ProducerID: pid, FirstOffset: first, LastOffset: -1})
	}
	slices.SortFunc(out, func(a, b CompletedTxn) int { return cmpInt64(a.FirstOffset, b.FirstOffset) })
	return out
}
