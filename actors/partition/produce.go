package partition

import (
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

// pendingProduce is a produce response waiting for its records to commit.
type pendingProduce struct {
	sender *actor.PID
	resp   *messages.ProduceResponse
	bytes  int64 // record bytes, counted in replica.pendingBytes
	// received is when the request arrived, appended when its append
	// (or, for a retry, its duplicate check) was done; the stage times in
	// resp are measured from them (see stamp).
	received, appended time.Time
	// marker, when set, is the answer instead of resp: the append was a
	// transaction marker (its error code and message come from resp).
	marker *messages.WriteTxnMarkerResponse
}

// answerProduce sends a pending produce its response and releases its
// bytes from the back-pressure budget.
func (r *replica) answerProduce(ctx actor.Context, p pendingProduce) {
	r.pendingBytes -= p.bytes
	if p.marker != nil {
		p.marker.ErrorCode, p.marker.ErrorMessage = p.resp.ErrorCode, p.resp.ErrorMessage
		ctx.Send(p.sender, p.marker)
		return
	}
	if !p.received.IsZero() {
		now := time.Now()
		if p.resp.ErrorCode == messages.ErrorCode_NONE {
			p.resp.BrokerTotalUs = stageMicros(p.received, now)
		}
		r.cfg.Metrics.produceAnswered(p.resp, now.Sub(p.received))
	}
	ctx.Send(p.sender, p.resp)
}

// stageMicros is the time from start to end in microseconds, at least 1:
// 0 in a ProduceResponse means the stage was not waited for.
func stageMicros(start, end time.Time) int64 {
	return max(end.Sub(start).Microseconds(), 1)
}

// The stamps of a pending produce's stages after its append, each set
// once, at the time given (the caller's clock reading, shared by the
// produces it completes at once). A produce not waiting for a stage
// keeps 0 there.
func (p pendingProduce) flushed(now time.Time) {
	if p.resp.BrokerFlushUs == 0 && !p.appended.IsZero() {
		p.resp.BrokerFlushUs = stageMicros(p.appended, now)
	}
}

func (p pendingProduce) replicated(now time.Time) {
	if p.resp.BrokerReplicateUs == 0 && !p.appended.IsZero() {
		p.resp.BrokerReplicateUs = stageMicros(p.appended, now)
	}
}

// DefaultProduceTimeout bounds an acks=all produce whose request carries
// no timeout_ms.
const DefaultProduceTimeout = 30 * time.Second

// handleProduce appends the request's batches and pushes them to the
// followers. An acks=1 response goes out once the leader's log is written
// as its flush policy requires: at once with never, after the node's
// Flusher fsynced it with interval (group commit) and always (an fsync
// started at once, shared by the appends queued meanwhile); the fsync
// never runs in the actor. An
// acks=all response also waits for every in-sync replica (the high
// watermark passing its records); it is refused with NOT_ENOUGH_REPLICAS
// before the append while the ISR is smaller than min.insync.replicas.
// With replication factor 1 acks=1 and acks=all are the same. A request
// sent without a sender (acks=0 over Send) gets no response, errors
// included. While the produces awaiting an answer hold more than
// Config.MaxPendingProduceBytes, new ones are refused with the retriable
// REQUEST_TIMED_OUT before the append. A successful answer carries the
// time the request spent in each stage (broker_append_us and the others,
// stamped by answerProduce, markDurable and completeAll), which
// Metrics.ProduceStages also counts: a clock reading per stage and
// request, none per record.
func (r *replica) handleProduce(ctx actor.Context, req *messages.ProduceRequest) {
	switch req.Acks {
	case 0, 1, -1:
	default:
		r.refuse(ctx, messages.Wrap(messages.ErrorCode_INVALID_REQUIRED_ACKS, "acks %d: want 0, 1 or -1", req.Acks))
		return
	}
	if err := r.checkEpoch(req.LeaderEpoch); err != nil {
		r.refuse(ctx, err)
		return
	}
	if len(req.Records) > r.cfg.maxMessageBytes() && singleBatch(req.Records) {
		r.refuse(ctx, messages.Wrap(messages.ErrorCode_MESSAGE_TOO_LARGE, "batch of %d bytes exceeds max.message.bytes %d",
			len(req.Records), r.cfg.maxMessageBytes()))
		return
	}
	if err := r.lead.CheckProduce(req.Acks); err != nil {
		r.refuse(ctx, err)
		return
	}
	if ctx.Sender() != nil && r.pendingBytes > 0 && r.pendingBytes+int64(len(req.Records)) > r.cfg.maxPendingProduceBytes() {
		// Back-pressure: the disk or the ISR is behind; the producer
		// retries after its backoff instead of queueing here.
		r.refuse(ctx, messages.Wrap(messages.ErrorCode_REQUEST_TIMED_OUT,
			"partition %s/%d: %d bytes of produce requests await fsync or replication (limit %d); retry",
			r.cfg.Topic, r.cfg.Partition, r.pendingBytes, r.cfg.maxPendingProduceBytes()))
		return
	}
	records, appendTime, err := r.prepareProduce(req.Records, r.received)
	if err != nil {
		r.refuse(ctx, err)
		return
	}
	dup, isDup, err := r.checkProducers(records)
	if err != nil {
		r.refuse(ctx, err)
		return
	}
	if isDup {
		r.answerDuplicate(ctx, req, dup)
		return
	}
	info, err := r.log.Append(records, r.state.LeaderEpoch)
	if err != nil {
		err = appendError(err)
		if messages.CodeFor(err) == messages.ErrorCode_KAFKA_STORAGE_ERROR {
			r.logger.Error("append", "error", err)
		}
		r.refuse(ctx, err)
		return
	}
	appended := time.Now()
	r.cfg.Metrics.produce(messages.ErrorCode_NONE.String(), info.Bytes, info.Records)
	r.stats.produced(info.Records, info.Bytes)
	r.appliedBatches(info.FirstOffset, records)
	r.progress.appended(info.LastOffset+1, info.Bytes)
	r.leaderAppended(ctx, info.FirstOffset, info.LastOffset, records)
	var p *pendingProduce
	if ctx.Sender() != nil {
		p = &pendingProduce{sender: ctx.Sender(), bytes: int64(len(records)), received: r.received, appended: appended,
			resp: &messages.ProduceResponse{
				BaseOffset:      info.FirstOffset,
				LogStartOffset:  info.LogStartOffset,
				LeaderEpoch:     r.state.LeaderEpoch,
				LogAppendTimeMs: appendTime,
				BrokerAppendUs:  stageMicros(r.received, appended),
			}}
	}
	r.awaitCommit(ctx, p, req.Acks, req.TimeoutMs, info.LastOffset)
}

// awaitCommit queues the answer p (nil: none) to an append whose last
// record is at last: acks=1 waits for the flush policy, acks=all also for
// the in-sync replicas (timeoutMs, 0 for DefaultProduceTimeout).
func (r *replica) awaitCommit(ctx actor.Context, p *pendingProduce, acks int32, timeoutMs int32, last int64) {
	if p != nil {
		r.pendingBytes += p.bytes
		if acks == -1 {
			id := r.allAcks.push(last, *p)
			timeout := DefaultProduceTimeout
			if timeoutMs > 0 {
				timeout = time.Duration(timeoutMs) * time.Millisecond
			}
			r.applyLeader(ctx, r.lead.AddPendingProduce(id, last, -1, time.Now().Add(timeout)))
		} else {
			r.acks.push(last, *p)
		}
	}
	if r.log.Config().FlushPolicy == commitlog.FlushNever {
		r.markDurable(ctx, last+1)
		return
	}
	// interval and always: the node's Flusher fsyncs (always without a
	// window) and a durable message completes the produce.
	system, self := ctx.ActorSystem(), ctx.Self()
	r.log.AwaitDurable(last, func(err error) {
		system.Root.Send(self, &durable{offset: last, err: err})
	})
}

// handleDurable records what the group commit made durable, or fails the
// waiting producers when the fsync failed.
func (r *replica) handleDurable(ctx actor.Context, m *durable) {
	if m.err != nil {
		if !errors.Is(m.err, commitlog.ErrClosed) { // a reopen or stop already answered them
			r.logger.Error("fsync", "offset", m.offset, "error", m.err)
		}
		failed := append(r.acks.through(m.offset), r.allAcks.through(m.offset)...)
		for _, p := range failed {
			p.resp.ErrorCode = messages.ErrorCode_KAFKA_STORAGE_ERROR
			p.resp.ErrorMessage = m.err.Error()
			r.answerProduce(ctx, p)
		}
		return
	}
	if r.log != nil {
		r.markDurable(ctx, m.offset+1)
	}
}

// commitThrough advances the high watermark to hw and wakes the fetches
// that now have enough data.
func (r *replica) commitThrough(ctx actor.Context, hw int64) {
	if !r.progress.advance(hw) {
		return
	}
	r.log.SetHighWatermark(hw)
	r.noteStable()
	r.wakeParked(ctx)
}

// singleBatch reports whether b holds exactly one batch (by its length
// field), so a request over max.message.bytes can be refused before it is
// validated.
func singleBatch(b []byte) bool {
	h, err := batch.ParseHeader(b)
	return err == nil && h.Size() >= len(b)
}

// appendError maps a commitlog append error to a wire error.
func appendError(err error) error {
	switch {
	case errors.Is(err, commitlog.ErrBatchTooLarge):
		return messages.Wrap(messages.ErrorCode_MESSAGE_TOO_LARGE, "%v", err)
	case errors.Is(err, batch.ErrCorruptBatch), errors.Is(err, batch.ErrInvalidMagic),
		errors.Is(err, batch.ErrShortBatch), errors.Is(err, commitlog.ErrEmptyAppend):
		return messages.Wrap(messages.ErrorCode_CORRUPT_MESSAGE, "%v", err)
	default:
		return messages.Wrap(messages.ErrorCode_KAFKA_STORAGE_ERROR, "%v", err)
	}
}
