package producerstate

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
)

// Errors of Check and CheckMarker; the broker answers them with Kafka's
// codes (in parentheses).
var (
	// ErrOutOfOrderSequence: the batch's base sequence does not follow
	// the producer's last one (OUT_OF_ORDER_SEQUENCE_NUMBER, 45).
	ErrOutOfOrderSequence = errors.New("producerstate: out of order sequence number")
	// ErrInvalidProducerEpoch: the batch or marker carries an older
	// producer epoch than the partition has seen (INVALID_PRODUCER_EPOCH,
	// 47).
	ErrInvalidProducerEpoch = errors.New("producerstate: invalid producer epoch")
	// ErrInvalidTxnState: a non-transactional batch from a producer with
	// an open transaction (INVALID_TXN_STATE, 48).
	ErrInvalidTxnState = errors.New("producerstate: invalid transaction state")
	// ErrCoordinatorFenced: a marker from an older transaction
	// coordinator than one already seen (TRANSACTION_COORDINATOR_FENCED,
	// 52).
	ErrCoordinatorFenced = errors.New("producerstate: transaction coordinator fenced")
	// ErrTooManyProducers: the partition tracks Config.MaxProducers
	// producer ids, every one with an open transaction.
	ErrTooManyProducers = errors.New("producerstate: too many producer ids")
)

// DefaultExpiration is producer.id.expiration.ms's default, Kafka's.
const DefaultExpiration = 24 * time.Hour

// DefaultMaxProducers bounds the producer ids one partition tracks.
const DefaultMaxProducers = 50_000

// Config tunes a State.
type Config struct {
	// Expiration is producer.id.expiration.ms: a producer id without an
	// open transaction is forgotten this long after its last batch's
	// timestamp (0: DefaultExpiration).
	Expiration time.Duration
	// MaxProducers bounds the producer ids tracked (0:
	// DefaultMaxProducers). A new one beyond it replaces the least
	// recently written one without an open transaction.
	MaxProducers int
}

func (c Config) expirationMs() int64 {
	if c.Expiration <= 0 {
		return DefaultExpiration.Milliseconds()
	}
	return c.Expiration.Milliseconds()
}

func (c Config) maxProducers() int {
	if c.MaxProducers <= 0 {
		return DefaultMaxProducers
	}
	return c.MaxProducers
}

// Marker is a transaction marker's content: its control record.
type Marker struct {
	Type             batch.ControlType
	CoordinatorEpoch int32
	Timestamp        int64
}

// CompletedTxn is a transaction a marker ended.
type CompletedTxn struct {
	ProducerID  int64
	FirstOffset int64
	// LastOffset is the marker's offset.
	LastOffset int64
	Aborted    bool
	// LastStableOffset is the first offset still undecided once the
	// marker is applied (the first offset of the earliest transaction
	// still open, else the marker's offset + 1), as Kafka records it in
	// the aborted-transaction index.
	LastStableOffset int64
}

// State is the producer state of one partition: an Entry per producer id
// and the open transactions. It is not safe for concurrent use; its owner
// (the replica actor) serialises Check, Apply and the rest.
type State struct {
	cfg       Config
	producers map[int64]*Entry
	// ongoing maps the first offset of each open transaction to its
	// producer id.
	ongoing map[int64]int64
	// unreplicated holds transactions whose marker is not yet below the
	// high watermark (the leader's; see LastStableOffset), by marker
	// offset.
	unreplicated []CompletedTxn
	// replayedTxns collects what Replay completed (for LoadStats).
	replayedTxns []CompletedTxn
	// end is the offset after the last batch applied: the state describes
	// the log below it.
	end int64
	// replayed and badMarkers count what Replay applied (for
	// LoadStats).
	replayed, badMarkers int
}

// New returns an empty state describing the log below end.
func New(cfg Config, end int64) *State {
	return &State{cfg: cfg, producers: make(map[int64]*Entry), ongoing: make(map[int64]int64), end: end}
}

// End is the offset after the last batch applied.
func (s *State) End() int64 { return s.end }

// Len is the number of producer ids tracked.
func (s *State) Len() int { return len(s.producers) }

// Entry returns a copy of a producer id's state.
func (s *State) Entry(producerID int64) (Entry, bool) {
	e, ok := s.producers[producerID]
	if !ok {
		return Entry{}, false
	}
	return *e, true
}

// Entries returns a copy of every entry, by producer id.
func (s *State) Entries() []Entry {
	out := make([]Entry, 0, len(s.producers))
	for _, e := range s.producers {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b Entry) int { return cmpInt64(a.ProducerID, b.ProducerID) })
	return out
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Check vets the batches of one produce request (headers in order) from a
// client, as Kafka's leader does before appending. Batches without a
// producer id are not checked. A batch that repeats one of its
// producer's retained batches (same epoch and sequence range) is a
// duplicate: Check returns it (dup true) and the request must append
// nothing and be answered with the original offsets. Otherwise an error
// wraps ErrInvalidProducerEpoch (an older epoch),
// ErrOutOfOrderSequence (a gap, or a new epoch not starting at 0),
// ErrInvalidTxnState or ErrTooManyProducers. A producer id with no state
// is accepted at any sequence: since Kafka's KIP-360 a producer whose
// state expired or whose batches were all deleted keeps writing.
// Later batches of the request are checked against the earlier ones.
// Check changes nothing; Apply records the batches once appended.
func (s *State) Check(headers []batch.Header) (dup BatchMetadata, isDup bool, err error) {
	var small [2]Entry
	staged := small[:0] // entries as the request's earlier batches leave them
	for _, h := range headers {
		if h.ProducerID < 0 || h.Attributes.Control() {
			continue
		}
		i := slices.IndexFunc(staged, func(e Entry) bool { return e.ProducerID == h.ProducerID })
		var cur Entry
		known := true
		switch {
		case i >= 0:
			cur = staged[i]
		case s.producers[h.ProducerID] != nil:
			cur = *s.producers[h.ProducerID]
		default:
			cur, known = newEntry(h.ProducerID), false
			if len(s.producers)+len(staged) >= s.cfg.maxProducers() && !s.evictable() {
				return BatchMetadata{}, false, fmt.Errorf("%w: %d tracked, all with open transactions", ErrTooManyProducers, len(s.producers))
			}
		}
		if d, ok := cur.findDuplicate(h.ProducerEpoch, h.BaseSequence, LastSequence(h)); ok {
			return d, true, nil
		}
		if err := checkData(&cur, known, h); err != nil {
			return BatchMetadata{}, false, err
		}
		applyData(&cur, h, nil)
		if i >= 0 {
			staged[i] = cur
		} else {
			staged = append(staged, cur)
		}
	}
	return BatchMetadata{}, false, nil
}

// checkData applies Kafka's epoch, sequence and transaction rules to a
// client's data batch h against the producer's entry cur.
func checkData(cur *Entry, known bool, h batch.Header) error {
	pid, epoch, seq := h.ProducerID, h.ProducerEpoch, h.BaseSequence
	if epoch < cur.Epoch {
		return fmt.Errorf("%w: producer %d epoch %d, partition has seen epoch %d", ErrInvalidProducerEpoch, pid, epoch, cur.Epoch)
	}
	switch {
	case seq == NoSequence:
		// No sequence (a coordinator's write): epochs only.
	case !known || cur.Epoch == NoProducerEpoch:
		// No state: any sequence (KIP-360).
	case epoch != cur.Epoch:
		if seq != 0 {
			return fmt.Errorf("%w: producer %d new epoch %d starts at sequence %d, want 0 (epoch was %d)", ErrOutOfOrderSequence, pid, epoch, seq, cur.Epoch)
		}
	case !inSequence(cur.LastSeq(), seq):
		return fmt.Errorf("%w: producer %d epoch %d sequence %d, expected %d", ErrOutOfOrderSequence, pid, epoch, seq, IncrementSequence(cur.LastSeq(), 1))
	}
	if cur.TxnFirstOffset >= 0 && !h.Attributes.Transactional() {
		return fmt.Errorf("%w: non-transactional batch from producer %d with a transaction open at offset %d", ErrInvalidTxnState, pid, cur.TxnFirstOffset)
	}
	return nil
}

// Apply records one appended batch (offsets assigned), whatever its
// origin: a client's produce, a replicated batch or a marker. m is the
// marker of a control batch (nil for data batches and for control
// batches whose records compaction removed). It returns the transaction
// a marker completed, if any. Nothing is checked: the leader checked
// before appending, and a follower takes what the leader wrote.
func (s *State) Apply(h batch.Header, m *Marker) *CompletedTxn {
	s.end = max(s.end, h.NextOffset())
	if h.ProducerID < 0 {
		return nil
	}
	if h.Attributes.Control() {
		if m == nil {
			return nil
		}
		return s.applyMarker(h, *m)
	}
	applyData(s.entry(h.ProducerID), h, s.ongoing)
	return nil
}

// applyData records data batch h in e; a transactional batch opens a
// transaction if none is (noted in ongoing when not nil).
func applyData(e *Entry, h batch.Header, ongoing map[int64]int64) {
	e.setEpoch(h.ProducerEpoch)
	e.addBatch(BatchMetadata{
		FirstSeq:    h.BaseSequence,
		LastSeq:     LastSequence(h),
		FirstOffset: h.BaseOffset,
		LastOffset:  h.LastOffset(),
		Timestamp:   h.MaxTimestamp,
	})
	e.LastTimestamp = h.MaxTimestamp
	if h.Attributes.Transactional() && e.TxnFirstOffset < 0 {
		e.TxnFirstOffset = h.BaseOffset
		if ongoing != nil {
			ongoing[h.BaseOffset] = e.ProducerID
		}
	}
}

// entry returns producerID's entry, creating it (and making room) if
// needed.
func (s *State) entry(producerID int64) *Entry {
	if e := s.producers[producerID]; e != nil {
		return e
	}
	if len(s.producers) >= s.cfg.maxProducers() {
		s.evictOne()
	}
	e := newEntry(producerID)
	s.producers[producerID] = &e
	return &e
}

// evictable reports whether some entry has no open transaction.
func (s *State) evictable() bool {
	return len(s.ongoing) < len(s.producers)
}

// evictOne forgets the least recently written producer without an open
// transaction.
func (s *State) evictOne() {
	victim, oldest := int64(-1), int64(0)
	for id, e := range s.producers {
		if e.TxnFirstOffset < 0 && (victim < 0 || e.LastTimestamp < oldest) {
			victim, oldest = id, e.LastTimestamp
		}
	}
	if victim >= 0 {
		delete(s.producers, victim)
	}
}

// RemoveExpired forgets the producer ids without an open transaction
// whose last timestamp is Config.Expiration or more before nowMs, and
// returns how many.
func (s *State) RemoveExpired(nowMs int64) int {
	n := 0
	for id, e := range s.producers {
		if s.expired(e, nowMs) {
			delete(s.producers, id)
			n++
		}
	}
	return n
}

func (s *State) expired(e *Entry, nowMs int64) bool {
	return e.TxnFirstOffset < 0 && nowMs-e.LastTimestamp >= s.cfg.expirationMs()
}
