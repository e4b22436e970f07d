package client

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sluice-mq/sluice/client/partitioner"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// Producer batches records per partition and sends each batch to the
// partition's leader as one actor message.
//
// Records are appended by the calling goroutine straight into the open
// batch of their partition (a batch.Builder guarded by the producer's
// mutex), so there is no hand-off per record. A batch is sealed when full,
// when its linger expires or on Flush, and handed to the partition's
// sender goroutine, which owns credit (MaxInFlight), compression, ordering,
// retries and delivery callbacks. Callbacks of one partition run on its
// sender goroutine in offset order; a slow callback delays that partition.
//
// A Producer is safe for concurrent use.
type Producer struct {
	c    *Client
	cfg  ProducerConfig
	opts batch.EncodeOptions
	pool sync.Pool // *batch.Builder, reset between batches
	// recordLists recycles openBatch.records slices (*[]pendingRecord),
	// so a batch's bookkeeping does not regrow from empty every time.
	recordLists sync.Pool

	// session is the idempotent producer's id and epoch; nil when not
	// idempotent.
	session *session
	// txn is the transaction state; nil without a TransactionalID.
	txn *txnManager
	// clock runs the linger timers (linger.go); nil: time.AfterFunc.
	clock *lingerClock
	// ctx ends when Close stops the senders; their broker calls outside
	// produce requests (InitProducerId) derive from it.
	ctx    context.Context
	cancel context.CancelFunc

	quit chan struct{}  // closed by Close: senders stop
	wg   sync.WaitGroup // sender goroutines

	mu    sync.Mutex // guards the following; lock order: Producer.mu, then sender.mu
	space *sync.Cond // signalled when buffered bytes drop or the producer closes
	// topics holds each topic's partitioner state.
	topics map[string]partitioner.TopicPartitioner
	parts  map[TopicPartition]*partitionBuffer
	// buffered counts bytes of accepted, unacknowledged records.
	// Invariant: 0 <= buffered.
	buffered int
	// pending counts accepted records whose callback has not run.
	pending int
	// flushWaiters are closed when pending drops to 0.
	flushWaiters []chan struct{}
	// flushing counts Flush calls in progress; while > 0 batches are
	// sealed as soon as a record is appended.
	flushing int
	// batches numbers the batches opened so far.
	batches uint64
	closed  bool
}

// partitionBuffer is the open batch of one partition.
type partitionBuffer struct {
	tp     TopicPartition
	open   *openBatch // nil when no record waits
	sender *sender
	// linger seals the open batch when it fires with armed == open.seq.
	linger lingerTimer
	armed  uint64
}

// openBatch is a batch being filled, then a sealed one on its way.
type openBatch struct {
	seq     uint64
	builder *batch.Builder
	records []pendingRecord
	bytes   int       // sum of the records' size bounds, as counted in buffered
	opened  time.Time // when its first record was appended (ProduceTiming.Queued)
}

// pendingRecord is what a record's callback needs after the send.
type pendingRecord struct {
	callback  func(RecordMetadata, error)
	timestamp int64
}

// NewProducer returns a producer on c.
func NewProducer(c *Client, cfg ProducerConfig) (*Producer, error) {
	if err := cfg.applyDefaults(c); err != nil {
		return nil, err
	}
	p := &Producer{
		c:      c,
		cfg:    cfg,
		opts:   batch.DefaultEncodeOptions(),
		quit:   make(chan struct{}),
		topics: make(map[string]partitioner.TopicPartitioner),
		parts:  make(map[TopicPartition]*partitionBuffer),
	}
	p.opts.Codec = cfg.Compression
	p.ctx, p.cancel = context.WithCancel(c.ctx)
	if cfg.idempotent() {
		p.session = newSession(c, "")
	}
	if cfg.TransactionalID != "" {
		p.session = newSession(c, cfg.TransactionalID)
		p.session.txnTimeout = cfg.TransactionTimeout
		p.opts.Transactional = true
		p.txn = newTxnManager(p, cfg.TransactionalID)
		p.session.mayBump = p.txn.mayBump
	}
	if cfg.Linger > 0 {
		p.clock = newLingerClock()
	}
	p.space = sync.NewCond(&p.mu)
	p.pool.New = func() any { return batch.NewBuilder(p.opts) }
	return p, nil
}

// Produce sends rec and waits for the broker's acknowledgement. It returns
// the partition and offset the record got (offset -1 with AcksNone).
// Cancelling ctx stops the wait, not the send.
func (p *Producer) Produce(ctx context.Context, rec *Record) (partition int32, offset int64, err error) {
	type result struct {
		md  RecordMetadata
		err error
	}
	done := make(chan result, 1)
	p.ProduceAsync(ctx, rec, func(md RecordMetadata, err error) { done <- result{md, err} })
	select {
	case r := <-done:
		return r.md.Partition, r.md.Offset, r.err
	case <-ctx.Done():
		return -1, -1, ctxError(ctx, "waiting for the produce acknowledgement")
	}
}

// ProduceAsync appends rec to its partition's batch and returns; callback
// (may be nil) runs once the batch is acknowledged or has failed. It
// blocks while MaxBufferedBytes are buffered, and for a topic not yet in
// the client's metadata while that is fetched; ctx bounds that wait (a
// record accepted is sent whatever ctx does afterwards). Errors found
// before sending (unknown topic, record too large, closed producer, ctx
// ended) are passed to callback before ProduceAsync returns.
func (p *Producer) ProduceAsync(ctx context.Context, rec *Record, callback func(RecordMetadata, error)) {
	if callback == nil {
		callback = func(RecordMetadata, error) {}
	}
	if p.txn != nil {
		var err error
		if callback, err = p.txn.admit(callback); err != nil {
			callback(RecordMetadata{Topic: rec.Topic, Partition: rec.Partition, Offset: -1, Timestamp: rec.Timestamp}, err)
			return
		}
	}
	fail := func(err error) {
		callback(RecordMetadata{Topic: rec.Topic, Partition: rec.Partition, Offset: -1, Timestamp: rec.Timestamp}, err)
	}
	if rec.Topic == "" {
		fail(ErrNoTopic)
		return
	}
	t, err := p.topicState(ctx, rec.Topic)
	if err != nil {
		fail(fmt.Errorf("produce to %q: %w", rec.Topic, err))
		return
	}
	n := len(t.partitions)
	if n == 0 {
		fail(fmt.Errorf("produce to %q: %w", rec.Topic, messages.ErrorForCode(messages.ErrorCode_LEADER_NOT_AVAILABLE, "topic has no partitions")))
		return
	}
	if rec.Partition >= int32(n) || rec.Partition < AnyPartition {
		fail(fmt.Errorf("produce to %s/%d: %w", rec.Topic, rec.Partition, messages.ErrorForCode(
			messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, fmt.Sprintf("topic has %d partitions", n))))
		return
	}
	size := recordSizeBound(rec.Key, rec.Value, rec.Headers)
	if limit := p.recordLimit(t); batch.HeaderSize+size > limit {
		fail(fmt.Errorf("produce to %q: %w", rec.Topic, messages.ErrorForCode(messages.ErrorCode_MESSAGE_TOO_LARGE,
			fmt.Sprintf("record of about %d bytes exceeds the %d-byte limit (the client's max request bytes and the topic's max.message.bytes)",
				size, limit-batch.HeaderSize))))
		return
	}
	ts := time.Now().UnixMilli()
	if !rec.Timestamp.IsZero() {
		ts = rec.Timestamp.UnixMilli()
	}

	p.mu.Lock()
	if !p.closed && p.buffered > 0 && p.buffered+size > p.cfg.MaxBufferedBytes {
		// Wait for space; ctx's end wakes the wait too.
		stop := context.AfterFunc(ctx, func() {
			p.mu.Lock()
			p.space.Broadcast()
			p.mu.Unlock()
		})
		for !p.closed && ctx.Err() == nil && p.buffered > 0 && p.buffered+size > p.cfg.MaxBufferedBytes {
			p.space.Wait()
		}
		stop()
		if !p.closed && ctx.Err() != nil {
			p.mu.Unlock()
			fail(ctxError(ctx, "waiting for producer buffer space"))
			return
		}
	}
	if p.closed {
		p.mu.Unlock()
		fail(ErrProducerClosed)
		return
	}
	pb := p.choose(rec, n, size)
	if pb.open == nil {
		pb.open = p.newBatch()
		if p.cfg.Linger > 0 {
			pb.armLinger(p, p.cfg.Linger)
		}
	}
	o := pb.open
	o.builder.Append(ts, rec.Key, rec.Value, rec.Headers)
	o.records = append(o.records, pendingRecord{callback: callback, timestamp: ts})
	o.bytes += size
	p.buffered += size
	p.pending++
	if p.cfg.Linger < 0 || p.flushing > 0 || o.builder.EstimatedSize() >= p.batchLimit(pb) {
		p.seal(pb)
	}
	p.mu.Unlock()
}

// topicState returns the topic's cached metadata, fetching it when the
// topic is not cached yet.
func (p *Producer) topicState(ctx context.Context, topic string) (*topicState, error) {
	if t, ok := p.c.meta.Load().topics[topic]; ok {
		return t, nil
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.RequestTimeout)
	defer cancel()
	return p.c.topic(ctx, topic)
}

// recordLimit is the largest batch a single record may need: a record
// larger than BatchBytes gets a batch of its own (as Kafka's batch.size),
// up to the client's MaxRequestBytes and the topic's max.message.bytes.
func (p *Producer) recordLimit(t *topicState) int {
	limit := p.c.cfg.MaxRequestBytes // BatchBytes is within it (applyDefaults)
	if t.maxMessageBytes > 0 {
		limit = min(limit, t.maxMessageBytes)
	}
	return limit
}

// choose returns the buffer rec goes to, sealing a batch it would
// overflow. A partitioner-chosen record whose batch was just sealed is
// placed again, so a sticky partitioner moves on (Kafka's
// abortOnNewBatch). Called with p.mu held.
func (p *Producer) choose(rec *Record, partitions, size int) *partitionBuffer {
	tp := TopicPartition{Topic: rec.Topic, Partition: rec.Partition}
	var part partitioner.TopicPartitioner
	if rec.Partition == AnyPartition {
		part = p.topics[rec.Topic]
		if part == nil {
			part = p.cfg.Partitioner.ForTopic(rec.Topic)
			p.topics[rec.Topic] = part
		}
		tp.Partition = int32(part.Partition(rec.Key, partitions))
	}
	pb := p.buffer(tp)
	if pb.open != nil && pb.open.builder.EstimatedSize()+size > p.batchLimit(pb) {
		p.seal(pb)
		if part != nil {
			tp.Partition = int32(part.Partition(rec.Key, partitions))
			pb = p.buffer(tp)
			if pb.open != nil && pb.open.builder.EstimatedSize()+size > p.batchLimit(pb) {
				p.seal(pb)
			}
		}
	}
	return pb
}

func (p *Producer) buffer(tp TopicPartition) *partitionBuffer {
	pb := p.parts[tp]
	if pb == nil {
		pb = &partitionBuffer{tp: tp, sender: newSender(p, tp)}
		p.parts[tp] = pb
		p.wg.Add(1)
		go pb.sender.run()
	}
	return pb
}

// batchLimit is the size at which pb's open batch is sealed: BatchBytes,
// or, for an idempotent producer whose partition cannot send now (its
// in-flight limit is used up), the merge limit: the batch keeps growing
// rather than queueing as one more small batch that would be merged
// later. Called with p.mu held.
func (p *Producer) batchLimit(pb *partitionBuffer) int {
	if p.session == nil || !pb.sender.backlog.Load() {
		return p.cfg.BatchBytes
	}
	return pb.sender.mergeLimit()
}

// sealFull seals tp's open batch once it has reached BatchBytes, for a
// partition whose sender can send again after its batch grew past it.
func (p *Producer) sealFull(tp TopicPartition) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pb := p.parts[tp]; pb != nil && pb.open != nil && pb.open.builder.EstimatedSize() >= p.cfg.BatchBytes {
		p.seal(pb)
	}
}

// newBatch starts a batch. Called with p.mu held.
func (p *Producer) newBatch() *openBatch {
	b := p.pool.Get().(*batch.Builder)
	b.Reset(p.opts)
	p.batches++
	o := &openBatch{seq: p.batches, builder: b, opened: time.Now()}
	if l, ok := p.recordLists.Get().(*[]pendingRecord); ok {
		o.records = (*l)[:0]
	}
	return o
}

// recycle returns o's record list once its callbacks have run.
func (p *Producer) recycle(o *openBatch) {
	clear(o.records) // drop the callbacks
	l := o.records[:0]
	o.records = nil
	p.recordLists.Put(&l)
}

// seal hands pb's open batch to its sender. Called with p.mu held.
func (p *Producer) seal(pb *partitionBuffer) {
	o := pb.open
	if o == nil {
		return
	}
	pb.open = nil
	if part := p.topics[pb.tp.Topic]; part != nil {
		part.OnBatchSealed(int(pb.tp.Partition))
	}
	pb.sender.push(o)
}

// release accounts for records whose callbacks have run.
func (p *Producer) release(records, bytes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending -= records
	p.buffered -= bytes
	p.space.Broadcast()
	if p.pending == 0 {
		for _, w := range p.flushWaiters {
			close(w)
		}
		p.flushWaiters = nil
	}
}

// Flush sends every buffered record now and waits until all records
// accepted so far, and any accepted while it waits, are acknowledged or
// failed. Under continuous load from other goroutines it waits for those
// too; it is meant for quiet points such as shutdown.
func (p *Producer) Flush(ctx context.Context) error {
	p.mu.Lock()
	p.flushing++
	for _, pb := range p.parts {
		p.seal(pb)
	}
	var wait chan struct{}
	if p.pending > 0 {
		wait = make(chan struct{})
		p.flushWaiters = append(p.flushWaiters, wait)
	}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.flushing--
		p.mu.Unlock()
	}()
	if wait == nil {
		return nil
	}
	select {
	case <-wait:
		return nil
	case <-ctx.Done():
		return ctxError(ctx, "flushing the producer")
	}
}

// Close flushes (until ctx ends), then stops the senders; records still
// unsent get ErrProducerClosed. Requests in flight keep their outcome
// unknown and are reported as ErrProducerClosed too.
func (p *Producer) Close(ctx context.Context) error {
	err := p.Flush(ctx)
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return err
	}
	p.closed = true
	p.space.Broadcast()
	for _, pb := range p.parts {
		if pb.linger != nil {
			pb.linger.Stop()
		}
		p.seal(pb)
	}
	p.mu.Unlock()
	if p.clock != nil {
		p.clock.close()
	}
	p.cancel()
	close(p.quit)
	p.wg.Wait()
	return err
}
