package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/transport"
)

// sender sends one partition's sealed batches, in order, with at most
// MaxInFlight requests unanswered. Batches queued while credit is used up
// travel together in the next request (concatenated v2 batches), so a
// slow broker gets fewer, larger requests.
//
// Retries keep order: after a retriable failure the sender stops sending
// new batches, lets the requests in flight finish, waits out the backoff,
// refreshes metadata if the error calls for it, and resends the failed
// requests one at a time, oldest first, before resuming.
type sender struct {
	p  *Producer
	tp TopicPartition

	mu       sync.Mutex // guards incoming
	incoming []*openBatch
	wake     chan struct{} // capacity 1: incoming is not empty
	results  chan produceResult

	// Owned by the run goroutine.
	queue      []*openBatch      // sealed, not yet in a request
	inflight   []*produceRequest // sent, by seq
	retries    []*produceRequest // failed, to resend, by seq
	recovering bool              // retries pending: send nothing new
	retryAt    time.Time
	refresh    bool // refresh metadata before the next resend
	timer      *time.Timer
	nextSeq    uint64
	// seq numbers the batches of an idempotent producer; nil otherwise.
	seq *sequencer
	// backlog is set (idempotent producers only) while the sender cannot
	// send: producing goroutines then let the open batch grow
	// (Producer.batchLimit).
	backlog atomic.Bool
}

// produceRequest is one ProduceRequest: one or more batches.
type produceRequest struct {
	seq     uint64
	batches []*openBatch
	records []byte
	// pooled is the requestBuffers buffer records lives in, returned
	// when the request finishes unless an attempt may still be queued in
	// the transport (unanswered): protoactor serializes a message after
	// Send returns, so only an answer proves it is done with records.
	pooled     *[]byte
	unanswered bool
	attempts   int
	done       bool
	base       int64
	// appendTime is the broker's log append time (ms) for a topic with
	// message.timestamp.type=LogAppendTime, -1 otherwise.
	appendTime int64
	err        error
	// Idempotent producers: the identity and first sequence the batch
	// carries, and whether an attempt may have been written unseen
	// (unknownErr is that attempt's error).
	ident        producerIdentity
	firstSeq     int32
	maybeWritten bool
	unknownErr   error
	// timing is what the answered request reports to OnProduceTiming
	// (producer_delivery.go).
	timing requestTiming
}

type produceResult struct {
	req *produceRequest
	res any
	err error
	pid *actor.PID
	at  time.Time // when the answer (or the failure) arrived
}

func newSender(p *Producer, tp TopicPartition) *sender {
	s := &sender{
		p:       p,
		tp:      tp,
		wake:    make(chan struct{}, 1),
		results: make(chan produceResult, p.cfg.MaxInFlight),
	}
	if p.session != nil {
		s.seq = &sequencer{session: p.session, ident: noProducer}
	}
	return s
}

// push queues a sealed batch. It never blocks: the producer's
// MaxBufferedBytes bounds the queue.
func (s *sender) push(o *openBatch) {
	s.mu.Lock()
	s.incoming = append(s.incoming, o)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *sender) run() {
	defer s.p.wg.Done()
	s.timer = time.NewTimer(time.Hour)
	s.timer.Stop()
	defer s.timer.Stop()
	for {
		s.pump()
		select {
		case <-s.wake: // new batches
			s.mu.Lock()
			s.queue = append(s.queue, s.incoming...)
			clear(s.incoming)
			s.incoming = s.incoming[:0]
			s.mu.Unlock()
		case r := <-s.results: // a request answered, failed or timed out
			s.handle(r)
		case <-s.timer.C: // retry backoff over
		case <-s.p.quit:
			s.mu.Lock()
			s.queue = append(s.queue, s.incoming...)
			s.incoming = nil
			s.mu.Unlock()
			s.stop()
			return
		}
	}
}

// pump sends what credit and the retry state allow, and tells the
// producing goroutines whether the partition is backlogged.
func (s *sender) pump() {
	s.pumpSends()
	if s.seq == nil {
		return
	}
	backlogged := s.recovering || len(s.inflight) >= s.p.cfg.MaxInFlight
	if s.backlog.Swap(backlogged) && !backlogged {
		s.p.sealFull(s.tp) // the grown batch may go now
	}
}

func (s *sender) pumpSends() {
	for {
		if s.recovering {
			if len(s.inflight) > 0 {
				return // let every request in flight finish first
			}
			if wait := time.Until(s.retryAt); wait > 0 {
				s.timer.Reset(wait)
				return
			}
			if s.refresh {
				s.refresh = false
				ctx, cancel := context.WithTimeout(s.p.c.ctx, s.p.cfg.RequestTimeout)
				_, _ = s.p.c.refreshMetadata(ctx) // a failure shows in the resend
				cancel()
			}
			if s.seq != nil && s.seq.bumpNeeded && !s.resequence() {
				s.recovering = false
				return
			}
			if len(s.retries) > 0 {
				req := s.retries[0]
				s.retries = s.retries[1:]
				s.send(req) // one at a time until the retries are done
				continue
			}
			s.recovering = false
		}
		if len(s.inflight) >= s.p.cfg.MaxInFlight || len(s.queue) == 0 {
			return
		}
		if s.seq != nil {
			if s.seq.bumpNeeded && (len(s.inflight) > 0 || !s.resequence()) {
				return // renumber once the requests in flight are answered
			}
			if !s.ensureIdentity() {
				return
			}
			if s.p.txn != nil && !s.ensureInTransaction() {
				return
			}
		}
		s.send(s.nextRequest())
	}
}

// nextRequest takes queued batches, as many as fit one request, and
// encodes them (compressing here, off the producing goroutines).
func (s *sender) nextRequest() *produceRequest {
	n, size := 0, 0
	if s.seq != nil {
		// One batch per request (the broker dedupes batch by batch): the
		// batches queued behind the in-flight limit become one.
		n, size = s.mergeQueued()
	}
	for s.seq == nil && n < len(s.queue) && (n == 0 || size+s.queue[n].builder.EstimatedSize() <= s.p.c.cfg.MaxRequestBytes) {
		size += s.queue[n].builder.EstimatedSize()
		n++
	}
	req := &produceRequest{seq: s.nextSeq, batches: slices.Clone(s.queue[:n])}
	if s.seq != nil {
		s.stamp(req, req.batches[0])
	}
	s.nextSeq++
	clear(s.queue[:n])
	s.queue = s.queue[n:]
	pooled := requestBuffers.Get(size)
	buf := (*pooled)[:0]
	for _, o := range req.batches {
		var err error
		if buf, err = o.builder.AppendTo(buf); err != nil {
			req.err = fmt.Errorf("encode batch: %w", err)
		}
		s.p.pool.Put(o.builder)
		o.builder = nil
	}
	req.records = buf
	if cap(buf) == cap(*pooled) {
		req.pooled = pooled
	}
	return req
}

// requestBuffers recycles the buffers of answered produce requests.
var requestBuffers = transport.NewPool()

// releaseRecords returns req's buffer to requestBuffers when no attempt
// of it can still be waiting in the transport.
func (req *produceRequest) releaseRecords() {
	if req.pooled != nil && !req.unanswered {
		requestBuffers.Put(req.pooled)
	}
	req.pooled, req.records = nil, nil
}

// send issues req to the partition's leader as known now.
func (s *sender) send(req *produceRequest) {
	s.inflight = append(s.inflight, req)
	req.done, req.attempts = false, req.attempts+1
	if req.err != nil {
		req.done = true
		s.complete()
		return
	}
	ctx, cancel := context.WithTimeout(s.p.c.ctx, s.p.cfg.RequestTimeout)
	part, err := s.p.c.partition(ctx, s.tp.Topic, s.tp.Partition)
	cancel()
	if err != nil {
		req.done, req.err = true, err
		s.complete()
		return
	}
	msg := &messages.ProduceRequest{
		Topic:       s.tp.Topic,
		Partition:   s.tp.Partition,
		Acks:        s.p.cfg.Acks.Wire(),
		TimeoutMs:   int32(s.p.cfg.RequestTimeout / time.Millisecond),
		Records:     req.records,
		LeaderEpoch: part.epoch(),
	}
	if s.p.cfg.Acks == AcksNone {
		if err := s.p.c.send(part.leader, msg); err != nil {
			req.done, req.err = true, err
		} else {
			req.done, req.base, req.unanswered = true, -1, true
		}
		s.complete()
		return
	}
	pid := part.leader
	req.noteSent(time.Now())
	// The waiter ends when the future resolves, by the request timeout at
	// the latest; results has room for every request in flight.
	err = s.p.c.request(pid, msg, s.p.cfg.RequestTimeout, func(res any, err error) {
		select {
		case s.results <- produceResult{req: req, res: res, err: err, pid: pid, at: time.Now()}:
		case <-s.p.quit:
		}
	})
	if err != nil {
		req.done, req.err = true, err
		s.complete()
	}
}

func (s *sender) handle(r produceResult) {
	res, err := decodeResult[*messages.ProduceResponse](r.res, r.err, r.pid, &messages.ProduceRequest{}, s.p.cfg.RequestTimeout)
	if errors.Is(err, errNoActor) {
		err = fmt.Errorf("%w: %w", messages.ErrorForCode(messages.ErrorCode_NOT_LEADER_OR_FOLLOWER,
			"no replica at "+r.pid.Address), err)
	}
	_, answered := r.res.(*messages.ProduceResponse)
	answered = answered && r.err == nil
	if !answered {
		r.req.unanswered = true // timed out or dead-lettered: maybe still queued
	}
	if s.seq != nil {
		s.seq.noteOutcome(r.req, answered, err)
	}
	r.req.done, r.req.err = true, err
	r.req.appendTime = -1
	if err == nil {
		r.req.base = res.GetBaseOffset()
		if t := res.GetLogAppendTimeMs(); t > 0 {
			r.req.appendTime = t
		}
		r.req.noteAnswer(r.at, res)
	}
	s.complete()
}

// complete processes answered requests at the head of inflight, in order.
func (s *sender) complete() {
	for len(s.inflight) > 0 && s.inflight[0].done {
		req := s.inflight[0]
		s.inflight[0] = nil
		s.inflight = s.inflight[1:]
		err := req.err
		if err != nil && s.seq != nil {
			var retry bool
			if err, retry = s.sequenceError(req, err); retry {
				s.scheduleRetry(req, err)
				continue
			}
		}
		if err != nil && retriable(err) && req.attempts <= s.p.cfg.Retries {
			s.scheduleRetry(req, err)
			continue
		}
		if err != nil {
			if req.maybeWritten {
				err = fmt.Errorf("%w: %w", ErrUnknownOutcome, err)
			}
			err = fmt.Errorf("produce to %s/%d: %w", s.tp.Topic, s.tp.Partition, err)
			if s.seq != nil && req.attempts > 0 {
				// Its sequences are spent whether or not it was
				// written: the batches after it move to a new epoch.
				s.seq.bumpNeeded = true
			}
		}
		s.finish(req, err)
	}
}

func (s *sender) scheduleRetry(req *produceRequest, err error) {
	req.err = nil
	i, _ := slices.BinarySearchFunc(s.retries, req.seq, func(r *produceRequest, seq uint64) int {
		return int(r.seq) - int(seq)
	})
	s.retries = slices.Insert(s.retries, i, req)
	s.recovering = true
	s.retryAt = time.Now().Add(s.p.c.cfg.backoff(req.attempts))
	if staleMetadata(err) || errors.Is(err, messages.ErrRequestTimedOut) {
		s.refresh = true
	}
}

// stop fails everything the sender still holds.
func (s *sender) stop() {
	for _, req := range s.inflight {
		req.unanswered = true
	}
	for _, req := range append(s.inflight, s.retries...) {
		s.finish(req, ErrProducerClosed)
	}
	s.inflight, s.retries = nil, nil
	for _, o := range s.queue {
		s.finish(&produceRequest{batches: []*openBatch{o}}, ErrProducerClosed)
	}
	s.queue = nil
}
