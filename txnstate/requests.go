package txnstate

import (
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// InitProducerID serves an InitProducerId for the transactional id, as
// Kafka's coordinator does: a new id gets a producer id (newProducerID)
// and epoch 0; a known one gets its epoch bumped, which fences every older
// instance of the producer; an exhausted epoch gets a new producer id. An
// open transaction is aborted first: the fence is persisted as
// PrepareAbort with the bumped epoch and the request is answered
// CONCURRENT_TRANSACTIONS, so the producer retries once the abort is
// complete. newProducerID is NoProducerID when the caller has none at
// hand: if one is needed, Effects.NeedProducerID asks for it and nothing
// else happens.
//
// Errors: INVALID_TRANSACTION_TIMEOUT, CONCURRENT_TRANSACTIONS (a write or
// a commit is in progress), PRODUCER_FENCED (the producer id and epoch
// sent are not the current session's).
func (t *Txn) InitProducerID(now time.Time, req InitRequest, newProducerID int64) Effects {
	t.begin()
	if req.Timeout <= 0 || req.Timeout > t.cfg.MaxTimeout {
		t.replyErr(req.RequestID, messages.Wrap(messages.ErrorCode_INVALID_TRANSACTION_TIMEOUT,
			"transaction timeout %v is not in (0, %v]", req.Timeout, t.cfg.MaxTimeout))
		return t.end(now)
	}
	if t.pending != nil {
		t.replyErr(req.RequestID, t.concurrent())
		return t.end(now)
	}
	cur := t.md
	if cur == nil {
		if newProducerID < 0 {
			t.fx.NeedProducerID = true
			return t.end(now)
		}
		// A new transactional id: the starting point is a session with
		// no epoch yet, which becomes state only once persisted.
		cur = &Metadata{
			ProducerID: newProducerID, ProducerEpoch: NoProducerEpoch,
			LastProducerID: NoProducerID, LastProducerEpoch: NoProducerEpoch,
			Timeout: req.Timeout, State: Empty, StartTimestamp: -1, LastUpdateTimestamp: now.UnixMilli(),
		}
		newProducerID = NoProducerID
	}
	expected := req.ProducerID >= 0 && req.ProducerEpoch >= 0
	if expected && !validProducerID(cur, req.ProducerID, req.ProducerEpoch) {
		t.replyErr(req.RequestID, messages.Wrap(messages.ErrorCode_PRODUCER_FENCED,
			"transactional id %q: producer id %d is not the current session's (%d)", t.id, req.ProducerID, cur.ProducerID))
		return t.end(now)
	}
	switch cur.State {
	case PrepareCommit, PrepareAbort:
		t.replyErr(req.RequestID, t.concurrent())
	case Empty, CompleteCommit, CompleteAbort:
		to := next(cur, now)
		to.State, to.Partitions, to.StartTimestamp, to.Timeout = Empty, nil, -1, req.Timeout
		to.LastProducerID = cur.ProducerID
		if EpochExhausted(cur.ProducerEpoch) && (!expected || req.ProducerEpoch == cur.ProducerEpoch) {
			if newProducerID < 0 {
				t.fx.NeedProducerID = true
				return t.end(now)
			}
			to.ProducerID, to.ProducerEpoch = newProducerID, 0
			to.LastProducerEpoch = NoProducerEpoch
			if expected {
				to.LastProducerEpoch = cur.ProducerEpoch
			}
		} else {
			bumped := cur.ProducerEpoch + 1
			switch {
			case !expected:
				to.ProducerEpoch, to.LastProducerEpoch = bumped, NoProducerEpoch
			case cur.ProducerEpoch == NoProducerEpoch || req.ProducerEpoch == cur.ProducerEpoch:
				to.ProducerEpoch, to.LastProducerEpoch = bumped, cur.ProducerEpoch
			case req.ProducerEpoch == cur.LastProducerEpoch:
				// A retry of a bump whose answer was lost: the same answer.
				to.ProducerEpoch, to.LastProducerEpoch = cur.ProducerEpoch, cur.LastProducerEpoch
			default:
				t.replyErr(req.RequestID, messages.Wrap(messages.ErrorCode_PRODUCER_FENCED,
					"transactional id %q: epoch %d is neither the current (%d) nor the last (%d)",
					t.id, req.ProducerEpoch, cur.ProducerEpoch, cur.LastProducerEpoch))
				return t.end(now)
			}
		}
		t.prepare(now, to, req.RequestID, replyInit)
	case Ongoing:
		t.fence(now, req.RequestID, replyConcurrent)
	default:
		t.replyErr(req.RequestID, t.illegal(cur.State))
	}
	return t.end(now)
}

// validProducerID is Kafka's check of the producer id an InitProducerId
// names: the current one, any while the session has no epoch yet, or the
// previous one whose epoch ran out (a retry across an id rotation).
func validProducerID(cur *Metadata, producerID int64, epoch int16) bool {
	return cur.ProducerEpoch == NoProducerEpoch || producerID == cur.ProducerID ||
		(producerID == cur.LastProducerID && EpochExhausted(epoch))
}

// AddPartitions adds partitions to the transaction, starting it if none is
// open. Partitions already in an Ongoing transaction are answered at once.
//
// Errors: INVALID_PRODUCER_ID_MAPPING (unknown id or another producer id),
// PRODUCER_FENCED (another epoch), CONCURRENT_TRANSACTIONS (a write is
// outstanding, or the previous transaction's markers are being written),
// INVALID_REQUEST (no partitions, or more than Config.MaxPartitions).
func (t *Txn) AddPartitions(now time.Time, req AddPartitionsRequest) Effects {
	t.begin()
	if err := t.checkSession(req.ProducerID, req.ProducerEpoch); err != nil {
		t.replyErr(req.RequestID, err)
		return t.end(now)
	}
	if len(req.Partitions) == 0 {
		t.replyErr(req.RequestID, messages.Wrap(messages.ErrorCode_INVALID_REQUEST, "no partitions to add"))
		return t.end(now)
	}
	if t.pending != nil || t.md.State == PrepareCommit || t.md.State == PrepareAbort {
		t.replyErr(req.RequestID, t.concurrent())
		return t.end(now)
	}
	var added []Partition
	for _, p := range req.Partitions {
		if t.md.State != Ongoing || !t.md.HasPartition(p) {
			added = append(added, p)
		}
	}
	if t.md.State == Ongoing && len(added) == 0 {
		t.fx.Replies = append(t.fx.Replies, Reply{RequestID: req.RequestID, ProducerID: NoProducerID, ProducerEpoch: NoProducerEpoch})
		return t.end(now)
	}
	to := next(t.md, now)
	if t.md.State != Ongoing {
		to.Partitions, to.StartTimestamp = nil, now.UnixMilli()
	}
	to.Partitions = sortPartitions(append(to.Partitions, added...))
	if len(to.Partitions) > t.cfg.MaxPartitions {
		t.replyErr(req.RequestID, messages.Wrap(messages.ErrorCode_INVALID_REQUEST,
			"transactional id %q: a transaction has at most %d partitions", t.id, t.cfg.MaxPartitions))
		return t.end(now)
	}
	if !CanTransition(t.md.State, Ongoing) {
		t.replyErr(req.RequestID, t.illegal(t.md.State))
		return t.end(now)
	}
	to.State = Ongoing
	t.prepare(now, to, req.RequestID, replyOK)
	return t.end(now)
}

// EndTxn commits or aborts the open transaction: the decision is
// persisted (PrepareCommit or PrepareAbort) and answered, then the markers
// are written (Effects.Markers) and the completion persisted. A retry of
// an end that completed is answered with no error.
//
// Errors: INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED,
// CONCURRENT_TRANSACTIONS (a write is outstanding, or the same decision's
// markers are being written), INVALID_TXN_STATE (no transaction is open,
// or the other decision was taken).
func (t *Txn) EndTxn(now time.Time, req EndRequest) Effects {
	t.begin()
	if err := t.checkSession(req.ProducerID, req.ProducerEpoch); err != nil {
		t.replyErr(req.RequestID, err)
		return t.end(now)
	}
	if t.pending != nil {
		t.replyErr(req.RequestID, t.concurrent())
		return t.end(now)
	}
	ok := Reply{RequestID: req.RequestID, ProducerID: NoProducerID, ProducerEpoch: NoProducerEpoch}
	switch s := t.md.State; {
	case s == Ongoing:
		to := next(t.md, now)
		to.State = PrepareAbort
		if req.Commit {
			to.State = PrepareCommit
		}
		t.prepare(now, to, req.RequestID, replyOK)
	case s == CompleteCommit && req.Commit, s == CompleteAbort && !req.Commit:
		t.fx.Replies = append(t.fx.Replies, ok)
	case s == PrepareCommit && req.Commit, s == PrepareAbort && !req.Commit:
		t.replyErr(req.RequestID, t.concurrent())
	default:
		t.replyErr(req.RequestID, messages.Wrap(messages.ErrorCode_INVALID_TXN_STATE,
			"transactional id %q is %s: cannot %s", t.id, s, map[bool]string{true: "commit", false: "abort"}[req.Commit]))
	}
	return t.end(now)
}

// checkSession checks that a request comes from the current session.
func (t *Txn) checkSession(producerID int64, epoch int16) error {
	switch {
	case t.md == nil:
		return messages.Wrap(messages.ErrorCode_INVALID_PRODUCER_ID_MAPPING, "transactional id %q has no producer id", t.id)
	case producerID != t.md.ProducerID:
		return messages.Wrap(messages.ErrorCode_INVALID_PRODUCER_ID_MAPPING,
			"transactional id %q has producer id %d, not %d", t.id, t.md.ProducerID, producerID)
	case epoch != t.md.ProducerEpoch:
		return messages.Wrap(messages.ErrorCode_PRODUCER_FENCED,
			"transactional id %q: epoch %d is fenced by epoch %d", t.id, epoch, t.md.ProducerEpoch)
	}
	return nil
}

func (t *Txn) concurrent() error {
	return messages.Wrap(messages.ErrorCode_CONCURRENT_TRANSACTIONS, "transactional id %q has a transition in progress", t.id)
}

// illegal reports a state the protocol never reaches; it answers the
// request instead of crashing the coordinator.
func (t *Txn) illegal(s State) error {
	return messages.Wrap(messages.ErrorCode_UNKNOWN_SERVER_ERROR, "transactional id %q in unexpected state %s", t.id, s)
}
