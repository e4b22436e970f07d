package partition

import (
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/commitlog"
	"github.com/sluice-mq/sluice/storage/segment"
)

// parkedRequest is a long-poll fetch waiting in the replica.
type parkedRequest struct {
	sender   *actor.PID
	req      *messages.FetchRequest
	files    bool      // a FileFetchRequest: answer with a file range
	received time.Time // when the request arrived
}

// handleFetch returns committed batches from the requested offset. When
// fewer than min_bytes are available and max_wait_ms > 0 the request is
// parked: it is answered as soon as enough bytes are committed (checked on
// every high watermark advance) or when its expiry timer fires, after
// max_wait_ms capped at Config.MaxFetchWait. At most
// Config.MaxParkedFetches wait at once; a fetch beyond that is answered
// with what there is.
func (r *replica) handleFetch(ctx actor.Context, req *messages.FetchRequest, files bool) {
	if err := r.checkEpoch(req.LeaderEpoch); err != nil {
		r.refuse(ctx, err)
		return
	}
	resp, rng := r.readFetch(req, files)
	if ctx.Sender() == nil {
		_ = rng.Close()
		return
	}
	// Beyond MaxParkedFetches a fetch gets what there is at once, as if
	// its wait had expired: the client fetches again.
	n := fetchedBytes(resp, rng)
	if resp.ErrorCode != messages.ErrorCode_NONE || n >= int(req.MinBytes) || req.MaxWaitMs <= 0 ||
		r.parked.len() >= r.cfg.maxParkedFetches() {
		r.countFetch(resp, rng, r.received)
		ctx.Respond(fetchAnswer(resp, rng, files))
		return
	}
	_ = rng.Close() // read again when woken
	need := int64(req.MinBytes) - int64(n)
	id := r.parked.park(r.progress.committedBytes, need, parkedRequest{sender: ctx.Sender(), req: req, files: files, received: r.received})
	r.cfg.Metrics.parked(1)
	system, self := ctx.ActorSystem(), ctx.Self()
	wait := min(time.Duration(req.MaxWaitMs)*time.Millisecond, r.cfg.maxFetchWait())
	r.timers[id] = time.AfterFunc(wait, func() {
		system.Root.Send(self, &fetchExpired{id: id})
	})
}

// readFetch reads below the high watermark and builds the response;
// errors are carried in it. With files the batches come as a file range
// (which the caller must close) instead of Records.
func (r *replica) readFetch(req *messages.FetchRequest, files bool) (*messages.FetchResponse, segment.Range) {
	hw := r.progress.hw
	lso := r.lastStableOffset()
	resp := &messages.FetchResponse{
		HighWatermark:    hw,
		LogStartOffset:   r.log.LogStartOffset(),
		LeaderEpoch:      r.state.LeaderEpoch,
		LastStableOffset: lso,
	}
	maxBytes := int(req.MaxBytes)
	if limit := r.cfg.maxFetchBytes(); maxBytes <= 0 || maxBytes > limit {
		maxBytes = limit
	}
	limit := hw
	if req.IsolationLevel == ReadCommitted {
		limit = lso
	}
	var rng segment.Range
	var err error
	end := int64(-1) // offset after the batches read, -1 for none
	if files {
		rng, err = r.log.ReadRange(req.Offset, maxBytes, limit)
		if rng.Size > 0 {
			end = rng.NextOffset
		}
	} else {
		resp.Records, err = r.log.Read(req.Offset, maxBytes, limit)
		if _, e, ok := batchRange(resp.Records); ok {
			end = e
		}
	}
	var oor *commitlog.OffsetOutOfRangeError
	switch {
	case err == nil:
		if req.IsolationLevel == ReadCommitted && end >= 0 {
			if err := r.abortedIn(req.Offset, end, resp); err != nil {
				r.logger.Error("read aborted-transaction index", "offset", req.Offset, "error", err)
				_ = rng.Close()
				rng = segment.Range{}
				resp.Records = nil
				resp.ErrorCode = messages.ErrorCode_KAFKA_STORAGE_ERROR
				resp.ErrorMessage = err.Error()
			}
		}
	case errors.As(err, &oor):
		resp.ErrorCode = messages.ErrorCode_OFFSET_OUT_OF_RANGE
		resp.ErrorMessage = err.Error()
		resp.LogStartOffset = oor.LogStart
	default:
		r.logger.Error("read", "offset", req.Offset, "error", err)
		resp.ErrorCode = messages.ErrorCode_KAFKA_STORAGE_ERROR
		resp.ErrorMessage = err.Error()
	}
	return resp, rng
}

// Isolation levels of fetch and list-offsets requests (Kafka's).
const (
	ReadUncommitted int32 = 0
	ReadCommitted   int32 = 1
)

// lastStableOffset is the leader's LSO: the high watermark, held back by
// the first offset of every undecided transaction.
func (r *replica) lastStableOffset() int64 {
	if r.producers == nil {
		return r.progress.hw
	}
	return r.producers.LastStableOffset(r.progress.hw)
}

// abortedIn adds to resp the aborted transactions overlapping the
// fetched batches, which start at the batch holding offset and end
// before end.
func (r *replica) abortedIn(offset, end int64, resp *messages.FetchResponse) error {
	aborted, err := r.txns.Collect(offset, end)
	for _, a := range aborted {
		resp.AbortedTransactions = append(resp.AbortedTransactions, &messages.AbortedTransaction{ProducerId: a.ProducerID, FirstOffset: a.FirstOffset})
	}
	return err
}

// wakeParked answers the parked fetches that now have enough data.
func (r *replica) wakeParked(ctx actor.Context) {
	if r.parked.len() == 0 {
		return
	}
	for _, p := range r.parked.ready(r.progress.committedBytes) {
		r.stopTimer(p.id)
		r.answerParked(ctx, p)
	}
}

func (r *replica) handleFetchExpired(ctx actor.Context, m *fetchExpired) {
	delete(r.timers, m.id)
	if p, ok := r.parked.expire(m.id); ok {
		r.answerParked(ctx, p)
	}
}

// answerParked reads again at the current high watermark and answers; a
// fetch whose epoch is no longer current is fenced instead.
func (r *replica) answerParked(ctx actor.Context, p parkedFetch[parkedRequest]) {
	if err := r.checkEpoch(p.value.req.LeaderEpoch); err != nil {
		r.answerFetchError(ctx, p, err)
		return
	}
	r.cfg.Metrics.parked(-1)
	resp, rng := r.readFetch(p.value.req, p.value.files)
	r.countFetch(resp, rng, p.value.received)
	ctx.Send(p.value.sender, fetchAnswer(resp, rng, p.value.files))
}

// answerParkedEmpty answers a parked fetch with no records and the
// partition's current offsets.
func (r *replica) answerParkedEmpty(ctx actor.Context, p parkedFetch[parkedRequest]) {
	r.cfg.Metrics.parked(-1)
	r.cfg.Metrics.fetch(messages.ErrorCode_NONE.String(), 0)
	r.cfg.Metrics.requestDone(requestFetch, messages.ErrorCode_NONE, p.value.received)
	ctx.Send(p.value.sender, &messages.FetchResponse{
		HighWatermark:    r.progress.hw,
		LogStartOffset:   r.log.LogStartOffset(),
		LeaderEpoch:      r.state.LeaderEpoch,
		LastStableOffset: r.lastStableOffset(),
	})
}

// fenceParked answers at once, with FENCED_LEADER_EPOCH, the parked
// fetches sent in an epoch that is no longer current (Kafka completes a
// delayed fetch when the partition's epoch changes under it).
func (r *replica) fenceParked(ctx actor.Context) {
	stale := r.parked.takeIf(func(v parkedRequest) bool { return r.checkEpoch(v.req.LeaderEpoch) != nil })
	for _, p := range stale {
		r.stopTimer(p.id)
		r.answerFetchError(ctx, p, r.checkEpoch(p.value.req.LeaderEpoch))
	}
}

// answerFetchError answers a parked fetch with err.
func (r *replica) answerFetchError(ctx actor.Context, p parkedFetch[parkedRequest], err error) {
	r.cfg.Metrics.parked(-1)
	code := messages.CodeFor(err)
	r.cfg.Metrics.fetch(code.String(), 0)
	r.cfg.Metrics.requestDone(requestFetch, code, p.value.received)
	ctx.Send(p.value.sender, &messages.FetchResponse{
		ErrorCode: code, ErrorMessage: err.Error(), LeaderEpoch: r.state.LeaderEpoch,
	})
}

func (r *replica) stopTimer(id uint64) {
	if t, ok := r.timers[id]; ok {
		t.Stop()
		delete(r.timers, id)
	}
}
