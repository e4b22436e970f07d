package txnstate

import (
	"errors"
	"fmt"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// Config holds the coordinator settings that shape a transaction's
// behaviour. Start from DefaultConfig; the zero Config is not valid.
type Config struct {
	// MaxTimeout caps the transaction timeout a producer may ask for
	// (transaction.max.timeout.ms); InitProducerId beyond it fails with
	// INVALID_TRANSACTION_TIMEOUT.
	MaxTimeout time.Duration
	// IDExpiration is how long a transactional id without an open
	// transaction is kept after its last transition
	// (transactional.id.expiration.ms); then its record is tombstoned.
	IDExpiration time.Duration
	// MaxPartitions caps the partitions of one transaction, so that its
	// record stays well below the message size limit; adding more fails
	// with INVALID_REQUEST.
	MaxPartitions int
	// RetryBackoff is how long to wait before writing a completed
	// transaction's record again after the write failed.
	RetryBackoff time.Duration
}

// Defaults, Kafka's where Kafka has the setting.
const (
	DefaultMaxTimeout    = 15 * time.Minute
	DefaultIDExpiration  = 7 * 24 * time.Hour
	DefaultMaxPartitions = 10000
	DefaultRetryBackoff  = 100 * time.Millisecond
)

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		MaxTimeout:    DefaultMaxTimeout,
		IDExpiration:  DefaultIDExpiration,
		MaxPartitions: DefaultMaxPartitions,
		RetryBackoff:  DefaultRetryBackoff,
	}
}

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("txnstate: invalid config")

// Validate reports whether c is usable.
func (c Config) Validate() error {
	switch {
	case c.MaxTimeout <= 0:
		return fmt.Errorf("%w: max timeout %v", ErrConfig, c.MaxTimeout)
	case c.IDExpiration <= 0:
		return fmt.Errorf("%w: id expiration %v", ErrConfig, c.IDExpiration)
	case c.MaxPartitions <= 0:
		return fmt.Errorf("%w: max partitions %d", ErrConfig, c.MaxPartitions)
	case c.RetryBackoff <= 0:
		return fmt.Errorf("%w: retry backoff %v", ErrConfig, c.RetryBackoff)
	}
	return nil
}

// Txn is the coordinator's state machine for one transactional id. It does
// no I/O, starts no goroutines and never reads the clock: every input
// carries the current time, and every output is returned as Effects for the
// caller (the coordinator actor) to carry out. Its state changes only when
// the caller reports a record persisted. It is not safe for concurrent use.
type Txn struct {
	id  string
	cfg Config
	// md is the state as last persisted (or loaded); nil when the id has
	// no state. Invariant: md is never changed except by PersistDone of a
	// successful write or by Load.
	md *Metadata
	// pending is the transition being persisted. Invariant: at most one.
	pending *transition
	seq     uint64
	// markers holds the partitions whose marker is not written yet.
	// Invariant: non-nil only while md.State is PrepareCommit or
	// PrepareAbort; nil in those states means every marker is written and
	// the completion is being (or waits to be) persisted.
	markers map[Partition]struct{}
	// retryAt is set after a failed completion write: Tick writes it again
	// then.
	retryAt time.Time

	fx Effects // effects of the call in progress
}

// replyKind says how a transition answers its request once persisted.
type replyKind int8

const (
	noReply         replyKind = iota
	replyInit                 // the new producer id and epoch
	replyOK                   // no error
	replyConcurrent           // CONCURRENT_TRANSACTIONS: an InitProducerId that fenced an open transaction
)

type transition struct {
	seq     uint64
	to      *Metadata // nil: tombstone
	request RequestID
	reply   replyKind
}

// New returns the state machine of transactionalID with no state; Load
// installs what the log holds.
func New(transactionalID string, cfg Config) (*Txn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Txn{id: transactionalID, cfg: cfg}, nil
}

// ID returns the transactional id.
func (t *Txn) ID() string { return t.id }

// Metadata returns a copy of the persisted state, or nil when the id has
// none.
func (t *Txn) Metadata() *Metadata {
	if t.md == nil {
		return nil
	}
	return t.md.Clone()
}

// Pending reports whether a write is outstanding, and what it writes (nil
// for a tombstone).
func (t *Txn) Pending() (*Metadata, bool) {
	if t.pending == nil {
		return nil, false
	}
	if t.pending.to == nil {
		return nil, true
	}
	return t.pending.to.Clone(), true
}

// OutstandingMarkers returns the partitions whose marker is not written
// yet.
func (t *Txn) OutstandingMarkers() []Partition {
	out := make([]Partition, 0, len(t.markers))
	for p := range t.markers {
		out = append(out, p)
	}
	return sortPartitions(out)
}

// Load installs md, the state replayed from the log (nil: none), dropping
// anything in flight. A decided transaction (PrepareCommit, PrepareAbort)
// asks for its markers again, so a coordinator that took over mid-commit
// finishes it.
func (t *Txn) Load(now time.Time, md *Metadata) Effects {
	t.begin()
	t.pending, t.markers, t.retryAt = nil, nil, time.Time{}
	t.md = nil
	if md != nil && md.State != Dead {
		t.md = md.Clone()
		if t.md.State == PrepareEpochFence {
			// Never written by a coordinator; treat it as the open
			// transaction it fences, which the timeout or the next
			// InitProducerId aborts.
			t.md.State = Ongoing
		}
		if t.md.State == PrepareCommit || t.md.State == PrepareAbort {
			t.startMarkers(now)
		}
	}
	return t.end(now)
}

// Unload drops the state when the coordinator loses its partition; a
// request waiting for its write gets NOT_COORDINATOR.
func (t *Txn) Unload() Effects {
	t.begin()
	if p := t.pending; p != nil && p.reply != noReply {
		t.replyErr(p.request, messages.Wrap(messages.ErrorCode_NOT_COORDINATOR, "transactional id %q moved", t.id))
	}
	t.pending, t.markers, t.md, t.retryAt = nil, nil, nil, time.Time{}
	fx := t.fx
	t.fx = Effects{}
	return fx
}

// PersistDone reports the outcome of the write with sequence seq. On
// success the transition takes effect and its request is answered; on
// failure the state stays as it was and the request gets err.
func (t *Txn) PersistDone(now time.Time, seq uint64, err error) Effects {
	t.begin()
	p := t.pending
	if p == nil || p.seq != seq {
		return t.end(now)
	}
	t.pending = nil
	if err != nil {
		if p.reply != noReply {
			t.replyErr(p.request, err)
		}
		if p.to != nil && (p.to.State == CompleteCommit || p.to.State == CompleteAbort) {
			t.retryAt = now.Add(t.cfg.RetryBackoff)
		}
		return t.end(now)
	}
	t.md = p.to
	switch p.reply {
	case replyInit:
		t.fx.Replies = append(t.fx.Replies, Reply{RequestID: p.request, ProducerID: t.md.ProducerID, ProducerEpoch: t.md.ProducerEpoch})
	case replyOK:
		t.fx.Replies = append(t.fx.Replies, Reply{RequestID: p.request, ProducerID: NoProducerID, ProducerEpoch: NoProducerEpoch})
	case replyConcurrent:
		t.replyErr(p.request, messages.Wrap(messages.ErrorCode_CONCURRENT_TRANSACTIONS,
			"transactional id %q: the open transaction of the previous producer is being aborted", t.id))
	}
	if t.md != nil && (t.md.State == PrepareCommit || t.md.State == PrepareAbort) {
		t.startMarkers(now)
	}
	return t.end(now)
}

// MarkerWritten reports that partition p holds the marker of the decided
// transaction. Once every partition does, the completion is persisted.
func (t *Txn) MarkerWritten(now time.Time, p Partition) Effects {
	t.begin()
	if t.markers != nil {
		delete(t.markers, p)
		if len(t.markers) == 0 {
			t.markers = nil
			t.prepareComplete(now)
		}
	}
	return t.end(now)
}

// Tick handles the passing of time: it aborts a transaction open longer
// than its timeout (bumping the epoch, which fences its producer, as
// Kafka does), expires an idle transactional id, and retries a failed
// completion write.
func (t *Txn) Tick(now time.Time) Effects {
	t.begin()
	if t.md == nil || t.pending != nil {
		return t.end(now)
	}
	switch {
	case !t.retryAt.IsZero():
		if !now.Before(t.retryAt) {
			t.retryAt = time.Time{}
			t.prepareComplete(now)
		}
	case t.md.State == Ongoing:
		if !now.Before(t.md.StartTime().Add(t.md.Timeout)) {
			t.fence(now, 0, noReply)
		}
	case t.md.State.expirable():
		if !now.Before(t.md.LastUpdateTime().Add(t.cfg.IDExpiration)) {
			t.prepare(now, nil, 0, noReply)
		}
	}
	return t.end(now)
}

// begin starts collecting the effects of a call.
func (t *Txn) begin() { t.fx = Effects{} }

// end finishes a call: it computes the next deadline and returns the
// effects collected.
func (t *Txn) end(now time.Time) Effects {
	t.fx.Deadline = t.deadline()
	fx := t.fx
	t.fx = Effects{}
	return fx
}

func (t *Txn) deadline() time.Time {
	switch {
	case t.md == nil || t.pending != nil:
		return time.Time{}
	case !t.retryAt.IsZero():
		return t.retryAt
	case t.md.State == Ongoing:
		return t.md.StartTime().Add(t.md.Timeout)
	case t.md.State.expirable():
		return t.md.LastUpdateTime().Add(t.cfg.IDExpiration)
	}
	return time.Time{}
}

func (t *Txn) replyErr(id RequestID, err error) {
	t.fx.Replies = append(t.fx.Replies, Reply{RequestID: id, Err: err, ProducerID: NoProducerID, ProducerEpoch: NoProducerEpoch})
}

// prepare starts persisting the transition to `to` (nil: a tombstone).
func (t *Txn) prepare(now time.Time, to *Metadata, request RequestID, reply replyKind) {
	t.seq++
	t.pending = &transition{seq: t.seq, to: to, request: request, reply: reply}
	t.fx.Persist = &Persist{Seq: t.seq}
	if to != nil {
		t.fx.Persist.Metadata = to.Clone()
	}
}

// next returns a copy of cur as the base of a transition at now.
func next(cur *Metadata, now time.Time) *Metadata {
	to := cur.Clone()
	to.LastUpdateTimestamp = max(now.UnixMilli(), cur.LastUpdateTimestamp)
	return to
}

// fence bumps the epoch of the open transaction and persists its abort
// (Kafka's PrepareEpochFence, written as PrepareAbort).
func (t *Txn) fence(now time.Time, request RequestID, reply replyKind) {
	to := next(t.md, now)
	to.ProducerEpoch = t.md.ProducerEpoch + 1
	to.LastProducerEpoch = NoProducerEpoch
	to.State = PrepareAbort
	t.prepare(now, to, request, reply)
}

// startMarkers asks for the markers of the decided transaction.
func (t *Txn) startMarkers(now time.Time) {
	if len(t.md.Partitions) == 0 {
		t.markers = nil
		t.prepareComplete(now)
		return
	}
	t.markers = make(map[Partition]struct{}, len(t.md.Partitions))
	for _, p := range t.md.Partitions {
		t.markers[p] = struct{}{}
	}
	t.fx.Markers = &Markers{
		ProducerID:    t.md.ProducerID,
		ProducerEpoch: t.md.ProducerEpoch,
		Commit:        t.md.State == PrepareCommit,
		Partitions:    append([]Partition(nil), t.md.Partitions...),
	}
}

// prepareComplete persists CompleteCommit or CompleteAbort once every
// marker is written.
func (t *Txn) prepareComplete(now time.Time) {
	if t.pending != nil || t.md == nil {
		return
	}
	to := next(t.md, now)
	switch t.md.State {
	case PrepareCommit:
		to.State = CompleteCommit
	case PrepareAbort:
		to.State = CompleteAbort
	default:
		return
	}
	to.Partitions = nil
	t.prepare(now, to, 0, noReply)
}
