package partition

import (
	"errors"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

// DeleteRecords (Kafka's kafka-delete-records) advances a partition's log
// start offset. The leader checks the offset against its high watermark
// and trims its log; followers trim theirs to the leader's log start,
// which every push and a heartbeat after each change carry (capped at
// their own high watermark, as Kafka's followers do). A trim moves the
// checkpointed log start (it survives a restart) and deletes the segments
// wholly below it, with their producer snapshots and aborted-transaction
// indexes; it runs in a goroutine, one at a time, and reports back with
// trimmed. Requests arriving meanwhile wait for the next trim.

// maxTrimWaiters bounds the DeleteRecords requests one leader holds while
// a trim runs; more are refused with the retriable REQUEST_TIMED_OUT.
const maxTrimWaiters = 1000

// trimWaiter is a DeleteRecords request waiting for the log start to pass
// its offset.
type trimWaiter struct {
	sender *actor.PID
	offset int64
}

// trimmed reports the end of a trim to offset.
type trimmed struct {
	gen     uint64
	offset  int64
	deleted int
	err     error
}

// handleDeleteRecords serves a DeleteRecordsRequest on the leader: a
// topic whose cleanup.policy lacks delete is POLICY_VIOLATION, -1 means
// the high watermark, an offset past it (or below -1) is
// OFFSET_OUT_OF_RANGE, one at or below the log start is answered at once.
func (r *replica) handleDeleteRecords(ctx actor.Context, m *messages.DeleteRecordsRequest) {
	if err := r.checkEpoch(m.LeaderEpoch); err != nil {
		r.refuse(ctx, err)
		return
	}
	if !r.cfg.TopicConfig.Deletes() {
		// As Kafka: records of a compact-only topic are deleted by keys.
		r.refuse(ctx, messages.Wrap(messages.ErrorCode_POLICY_VIOLATION,
			"records of %s/%d cannot be deleted: cleanup.policy is %s", r.cfg.Topic, r.cfg.Partition, r.cfg.TopicConfig.CleanupPolicy))
		return
	}
	hw := r.log.HighWatermark()
	offset := m.Offset
	if offset == -1 {
		offset = hw
	}
	if offset < 0 || offset > hw {
		r.refuse(ctx, messages.Wrap(messages.ErrorCode_OFFSET_OUT_OF_RANGE,
			"delete records before %d: the high watermark of %s/%d is %d", m.Offset, r.cfg.Topic, r.cfg.Partition, hw))
		return
	}
	if offset <= r.log.LogStartOffset() {
		r.answerDeleteRecords(ctx, ctx.Sender(), nil)
		return
	}
	if len(r.trimWaiters) >= maxTrimWaiters {
		r.refuse(ctx, messages.Wrap(messages.ErrorCode_REQUEST_TIMED_OUT, "%d delete records requests wait already", len(r.trimWaiters)))
		return
	}
	if ctx.Sender() != nil {
		r.trimWaiters = append(r.trimWaiters, trimWaiter{sender: ctx.Sender(), offset: offset})
	}
	r.trimTo(ctx, offset)
}

// followLogStart advances a follower's log start towards the leader's.
func (r *replica) followLogStart(ctx actor.Context, leaderLogStart int64) {
	if r.log == nil || r.diskOp != nil {
		return
	}
	if target := min(leaderLogStart, r.log.HighWatermark()); target > r.log.LogStartOffset() {
		r.trimTo(ctx, target)
	}
}

// trimTo asks for the log to start at offset, starting a trim unless one
// runs; the running one starts the next when it ends.
func (r *replica) trimTo(ctx actor.Context, offset int64) {
	r.trimTarget = max(r.trimTarget, offset)
	if r.trimDone != nil || r.log == nil {
		return
	}
	target := r.trimTarget
	done := make(chan struct{})
	r.trimDone = done
	r.trimGen++
	gen, l, txns, system, self := r.trimGen, r.log, r.txns, ctx.ActorSystem(), ctx.Self()
	go func() {
		defer close(done)
		deleted, err := l.DeleteRecordsBefore(target)
		if err == nil && deleted > 0 {
			err = dropSegmentState(l, txns)
		}
		system.Root.Send(self, &trimmed{gen: gen, offset: target, deleted: deleted, err: err})
	}()
}

// handleTrimmed answers the requests the trim satisfied (or failed),
// lets a leader's pushes and heartbeats carry the new log start and
// starts the next trim if one was asked for meanwhile.
func (r *replica) handleTrimmed(ctx actor.Context, m *trimmed) {
	if m.gen != r.trimGen {
		return // waited for by a close (waitTrim)
	}
	r.trimDone = nil
	if m.err != nil && !errors.Is(m.err, commitlog.ErrClosed) {
		r.logger.Warn("delete records", "offset", m.offset, "error", m.err)
	}
	if m.deleted > 0 {
		r.cfg.Metrics.segmentsDeleted(m.deleted)
	}
	if r.log == nil {
		r.failTrimWaiters(ctx, messages.Wrap(messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, "partition %s/%d is closing", r.cfg.Topic, r.cfg.Partition))
		return
	}
	start := r.log.LogStartOffset()
	if r.lead != nil {
		r.lead.SetLogStart(start)
	}
	kept := r.trimWaiters[:0]
	for _, w := range r.trimWaiters {
		switch {
		case m.err != nil:
			// Not retried here: the client retries what it may.
			r.answerDeleteRecords(ctx, w.sender, m.err)
		case w.offset <= start:
			r.answerDeleteRecords(ctx, w.sender, nil)
		default:
			kept = append(kept, w)
		}
	}
	clear(r.trimWaiters[len(kept):])
	r.trimWaiters = kept
	if m.err == nil && r.trimTarget > start {
		r.trimTo(ctx, r.trimTarget)
		return
	}
	r.trimTarget = start
}

// answerDeleteRecords answers one request with the log start (Kafka's low
// watermark) or err.
func (r *replica) answerDeleteRecords(ctx actor.Context, to *actor.PID, err error) {
	if to == nil {
		return
	}
	resp := &messages.DeleteRecordsResponse{LowWatermark: -1, LeaderEpoch: r.state.LeaderEpoch}
	if err != nil {
		code := messages.CodeFor(err)
		switch {
		case errors.Is(err, commitlog.ErrOffsetOutOfRange):
			code = messages.ErrorCode_OFFSET_OUT_OF_RANGE
		case code == messages.ErrorCode_UNKNOWN_SERVER_ERROR:
			// The trim's own failure: the log's files (Kafka's
			// KAFKA_STORAGE_ERROR, retriable at the next leader).
			code = messages.ErrorCode_KAFKA_STORAGE_ERROR
		}
		resp.ErrorCode, resp.ErrorMessage = code, err.Error()
	}
	if r.log != nil {
		resp.LowWatermark = r.log.LogStartOffset()
	}
	ctx.Send(to, resp)
}

// failTrimWaiters answers every waiting DeleteRecords request with err.
func (r *replica) failTrimWaiters(ctx actor.Context, err error) {
	for _, w := range r.trimWaiters {
		r.answerDeleteRecords(ctx, w.sender, err)
	}
	r.trimWaiters = nil
}

// waitTrim waits for a running trim before the log is closed or replaced.
func (r *replica) waitTrim() {
	if r.trimDone != nil {
		<-r.trimDone
		r.trimDone = nil
		r.trimGen++
	}
}
