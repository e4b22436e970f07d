package client

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// ErrUnknownOutcome means an idempotent producer gave up on a batch that
// an earlier attempt may have written (its answer was lost or said
// nothing about the append): its retries ran out, or the partition had to
// move to a new producer epoch, where sending it again could write it
// twice. The record may or may not be in the log. The error also wraps
// the attempt's own error (a timeout, typically).
var ErrUnknownOutcome = errors.New("client: batch outcome unknown; not resent under the new producer epoch")

// sequencer is one partition's share of an idempotent session: the
// identity its sequences belong to and the sequence of the next new batch.
// It is owned by the partition's sender goroutine.
//
// Every batch is numbered when it is first encoded, one batch per request,
// so at most MaxInFlight batches are unanswered and a retry goes out with
// the bytes (and numbers) of the first attempt: the broker appends it or
// answers it as the duplicate it is. When the partition's sequence state
// is lost (the head request answered OUT_OF_ORDER_SEQUENCE_NUMBER or
// UNKNOWN_PRODUCER_ID, or a batch failed for good after taking its
// numbers) the sender waits for its requests in flight, bumps the
// session's epoch (KIP-360) and renumbers what it still holds from 0
// under it: batches the broker refused are resent, batches that may have
// been written fail with ErrUnknownOutcome.
type sequencer struct {
	session *session
	ident   producerIdentity // noProducer until the first batch
	next    int32
	// bumpNeeded: the partition's sequences must restart under a newer
	// epoch before anything else is sent.
	bumpNeeded bool
}

// refusedCodes are broker answers that prove the batch was not appended,
// so it may be renumbered and sent again under a new epoch.
var refusedCodes = map[messages.ErrorCode]bool{
	messages.ErrorCode_NOT_LEADER_OR_FOLLOWER:       true,
	messages.ErrorCode_FENCED_LEADER_EPOCH:          true,
	messages.ErrorCode_UNKNOWN_LEADER_EPOCH:         true,
	messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION:   true,
	messages.ErrorCode_LEADER_NOT_AVAILABLE:         true,
	messages.ErrorCode_NOT_ENOUGH_REPLICAS:          true,
	messages.ErrorCode_CORRUPT_MESSAGE:              true,
	messages.ErrorCode_MESSAGE_TOO_LARGE:            true,
	messages.ErrorCode_RECORD_LIST_TOO_LARGE:        true,
	messages.ErrorCode_INVALID_RECORD:               true,
	messages.ErrorCode_INVALID_TIMESTAMP:            true,
	messages.ErrorCode_UNSUPPORTED_COMPRESSION_TYPE: true,
	messages.ErrorCode_INVALID_REQUIRED_ACKS:        true,
	messages.ErrorCode_INVALID_REQUEST:              true,
	messages.ErrorCode_OUT_OF_ORDER_SEQUENCE_NUMBER: true,
	messages.ErrorCode_UNKNOWN_PRODUCER_ID:          true,
	messages.ErrorCode_INVALID_PRODUCER_EPOCH:       true,
}

// noteOutcome records, after an attempt of req, whether it may have been
// written without the client knowing: no answer, or an error that does
// not rule out the append (a timeout, NOT_ENOUGH_REPLICAS_AFTER_APPEND).
func (q *sequencer) noteOutcome(req *produceRequest, answered bool, err error) {
	if err == nil || req.maybeWritten {
		return
	}
	if !answered || !refusedCodes[messages.CodeFor(err)] {
		req.maybeWritten, req.unknownErr = true, err
	}
}

// sequenceError handles the answers only an idempotent producer gets. It
// returns the error to go on with and whether to retry the request
// regardless of the retry budget's view of the code.
func (s *sender) sequenceError(req *produceRequest, err error) (error, bool) {
	q := s.seq
	switch messages.CodeFor(err) {
	case messages.ErrorCode_DUPLICATE_SEQUENCE_NUMBER:
		// Written before, too long ago for the broker to have its
		// offsets: a success without offsets.
		req.base = -1
		return nil, false
	case messages.ErrorCode_OUT_OF_ORDER_SEQUENCE_NUMBER, messages.ErrorCode_UNKNOWN_PRODUCER_ID:
		if req.attempts > s.p.cfg.Retries {
			return err, false
		}
		if len(s.retries) == 0 && !q.bumpNeeded && req.ident == q.ident {
			// The head of the partition's sequence: the broker lost
			// this producer's state or has a gap before it.
			q.bumpNeeded = true
		}
		// Otherwise an earlier batch failed and will be resent first.
		return err, true
	}
	return err, false
}

// ensureIdentity gives the partition an identity before its first batch.
// On failure the queued batches fail with the error.
func (s *sender) ensureIdentity() bool {
	q := s.seq
	if q.ident.id >= 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(s.p.ctx, s.p.cfg.RequestTimeout)
	pi, err := q.session.identity(ctx)
	cancel()
	if err != nil {
		s.failQueue(err)
		return false
	}
	q.ident, q.next = pi, 0
	return true
}

// stamp numbers o, the next new batch, under the partition's identity.
func (s *sender) stamp(req *produceRequest, o *openBatch) {
	q := s.seq
	req.ident, req.firstSeq = q.ident, q.next
	o.builder.SetProducer(q.ident.id, q.ident.epoch, q.next)
	q.next = batch.NextSequence(q.next, o.builder.Len())
}

// resequence moves the partition to a newer epoch: it bumps the session
// and renumbers the requests waiting for a resend from 0, failing those
// that may have been written. Called with nothing in flight. On failure
// everything waiting fails and the bump is tried again before the next
// batch.
func (s *sender) resequence() bool {
	q := s.seq
	ctx, cancel := context.WithTimeout(s.p.ctx, s.p.cfg.RequestTimeout)
	pi, err := q.session.bump(ctx, q.ident)
	cancel()
	if err != nil {
		retries := s.retries
		s.retries = nil
		for _, req := range retries {
			s.finish(req, fmt.Errorf("produce to %s/%d: %w", s.tp.Topic, s.tp.Partition, err))
		}
		s.failQueue(err)
		return false
	}
	s.p.c.log.Debug("producer epoch bumped", "topic", s.tp.Topic, "partition", s.tp.Partition, "from", q.ident.String(), "to", pi.String())
	q.ident, q.next, q.bumpNeeded = pi, 0, false
	kept := s.retries[:0]
	for _, req := range s.retries {
		if req.maybeWritten {
			s.finish(req, fmt.Errorf("produce to %s/%d: %w: %w", s.tp.Topic, s.tp.Partition, ErrUnknownOutcome, req.unknownErr))
			continue
		}
		req.ident, req.firstSeq = q.ident, q.next
		batch.SetProducer(req.records, q.ident.id, q.ident.epoch, q.next)
		q.next = batch.NextSequence(q.next, len(req.batches[0].records))
		kept = append(kept, req)
	}
	clear(s.retries[len(kept):])
	s.retries = kept
	return true
}

// failQueue fails the batches not yet sent with err.
func (s *sender) failQueue(err error) {
	for _, o := range s.queue {
		s.finish(&produceRequest{batches: []*openBatch{o}}, fmt.Errorf("produce to %s/%d: %w", s.tp.Topic, s.tp.Partition, err))
	}
	clear(s.queue)
	s.queue = s.queue[:0]
}

// maxMergedBatchBytes caps merged batches: enough for a window of five to
// keep a partition busy, and well below any usual max.message.bytes, which
// the client knows only when the topic overrides it.
const maxMergedBatchBytes = 256 << 10

// mergeLimit is the largest batch the partition sends: maxMergedBatchBytes
// (or BatchBytes if larger), within a request and the topic's
// max.message.bytes. Safe from any goroutine.
func (s *sender) mergeLimit() int {
	limit := min(s.p.c.cfg.MaxRequestBytes, max(s.p.cfg.BatchBytes, maxMergedBatchBytes))
	if t, ok := s.p.c.meta.Load().topics[s.tp.Topic]; ok && t.maxMessageBytes > 0 {
		limit = min(limit, t.maxMessageBytes)
	}
	return limit
}

// mergeQueued merges the queued batches into the first one while the
// result stays within maxMergedBatchBytes (or BatchBytes, if larger), a
// request and the topic's max.message.bytes, and
// returns how many queue entries the first now covers and its size.
func (s *sender) mergeQueued() (int, int) {
	limit := s.mergeLimit()
	o := s.queue[0]
	n := 1
	for ; n < len(s.queue); n++ {
		next := s.queue[n]
		if o.builder.EstimatedSize()+next.builder.EstimatedSize()-batch.HeaderSize > limit {
			break
		}
		o.builder.Merge(next.builder)
		o.records = append(o.records, next.records...)
		o.bytes += next.bytes
		s.p.pool.Put(next.builder)
		next.builder = nil
		s.p.recycle(next)
	}
	if n > 1 {
		// The merged entries are gone; the first stands for them.
		s.queue = slices.Delete(s.queue, 1, n)
	}
	return 1, o.builder.EstimatedSize()
}
