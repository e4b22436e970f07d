package partition

import (
	"errors"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/replication"
	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

// replicationTick runs replication.Leader.OnTick; gen tells ticks of an
// earlier Leader apart.
type replicationTick struct{ gen uint64 }

// hotAppend is the append being handled: a push that starts at its first
// offset sends these bytes instead of reading them back from the log.
type hotAppend struct {
	first, end int64
	records    []byte
}

// startLeader starts the replication bookkeeping of a new leader epoch:
// the ISR comes from the metadata, the high watermark from the log's
// checkpoint, and what the log holds counts as written (it survived the
// open). Followers are probed at once.
func (r *replica) startLeader(ctx actor.Context) {
	r.stopLeader(ctx)
	leo := r.log.LogEndOffset()
	r.lead = replication.NewLeader(r.cfg.replicationConfig(), r.cfg.NodeID, r.state.LeaderEpoch,
		r.state.Replicas, r.state.ISR, leo, r.log.HighWatermark())
	r.lead.SetLogStart(r.log.LogStartOffset())
	r.leadGen++
	r.isrWrite = 0
	r.fenced = false
	r.durableEnd = max(r.durableEnd, leo)
	r.applyLeader(ctx, r.lead.OnTick(time.Now()))
	r.publishHW(ctx)
	if r.hasFollowers() {
		// Alone, the core has nothing to time: every append commits at
		// once.
		r.scheduleReplicationTick(ctx)
	}
}

// hasFollowers reports whether the metadata names a replica besides this
// one.
func (r *replica) hasFollowers() bool {
	other := func(id int32) bool { return id != r.cfg.NodeID }
	return slices.ContainsFunc(r.state.Replicas, other) || slices.ContainsFunc(r.state.ISR, other)
}

// stopLeader ends the leader epoch: produces waiting for followers fail
// with NOT_LEADER_OR_FOLLOWER, the tick stops and an ISR write in flight
// is forgotten.
func (r *replica) stopLeader(ctx actor.Context) {
	if r.lead == nil {
		return
	}
	for _, d := range r.lead.Resign() {
		r.completeAll(ctx, d)
	}
	r.lead = nil
	r.leadGen++
	r.isrWrite = 0
	if r.tickTimer != nil {
		r.tickTimer.Stop()
		r.tickTimer = nil
	}
}

func (r *replica) scheduleReplicationTick(ctx actor.Context) {
	system, self, gen := ctx.ActorSystem(), ctx.Self(), r.leadGen
	r.tickTimer = time.AfterFunc(r.cfg.replicationTick(), func() {
		system.Root.Send(self, &replicationTick{gen: gen})
	})
}

func (r *replica) handleReplicationTick(ctx actor.Context, m *replicationTick) {
	if r.lead == nil || m.gen != r.leadGen {
		return
	}
	r.lead.SetLogStart(r.log.LogStartOffset())
	r.applyLeader(ctx, r.lead.OnTick(time.Now()))
	r.scheduleReplicationTick(ctx)
}

// leaderAppended tells the core about an append and pushes it to the
// followers with credit.
func (r *replica) leaderAppended(ctx actor.Context, first, last int64, records []byte) {
	r.hot = hotAppend{first: first, end: last + 1, records: records}
	r.applyLeader(ctx, r.lead.OnAppend(last, time.Now()))
	r.hot = hotAppend{}
}

// applyLeader carries out a Leader's effects in the documented order.
func (r *replica) applyLeader(ctx actor.Context, e replication.Effects) {
	for _, p := range e.Sends {
		r.sendPushes(ctx, p)
	}
	for _, d := range e.Completed {
		r.completeAll(ctx, d)
	}
	if e.ISRChange != nil {
		r.proposeISR(ctx, *e.ISRChange)
	}
	if e.HWChanged {
		r.publishHW(ctx)
	}
	if e.Fenced && !r.fenced {
		// The metadata watch brings the new epoch; say it once.
		r.fenced = true
		r.logger.Warn("a follower knows a newer leader epoch than this leader", "epoch", r.state.LeaderEpoch)
	}
}

// sendPushes sends push and the ones Leader.Sent returns after it, until
// the follower's credit is used up or it has caught up.
func (r *replica) sendPushes(ctx actor.Context, push replication.Push) {
	pid := r.cfg.peer(push.To)
	if pid == nil {
		// Not a live member: the core probes it again later.
		return
	}
	// Catch-up of a follower outside the ISR (a replica a reassignment
	// adds) takes from the node's throttle; a push it holds back is not
	// sent, and the core offers it again at the next tick.
	throttled := r.cfg.Throttle != nil && !push.Heartbeat && !r.lead.InISR(push.To)
	for ok := true; ok && r.lead != nil; {
		if throttled && !r.cfg.Throttle.Ready() {
			r.cfg.Metrics.throttledPush()
			return
		}
		req, n := r.buildPush(push)
		if req == nil {
			r.lead.Sent(push, push.From, push.From, 0)
			return
		}
		ctx.Request(pid, req)
		r.cfg.Metrics.pushed(n)
		if throttled {
			r.cfg.Throttle.Spend(n)
		}
		push, ok = r.lead.Sent(push, req.BaseOffset, req.EndOffset, n)
	}
}

// buildPush reads the records of a data push (whole batches from
// push.From, at most push.MaxBytes but at least one batch, none past the
// leader's log end) or builds a heartbeat. It returns nil when nothing
// could be read, and the records' size.
func (r *replica) buildPush(push replication.Push) (*messages.ReplicateRequest, int) {
	req := &messages.ReplicateRequest{
		Topic:       r.cfg.Topic,
		Partition:   r.cfg.Partition,
		LeaderEpoch: r.lead.Epoch(),
		LeaderId:    r.cfg.NodeID,
		BaseOffset:  push.From,
		EndOffset:   push.From,
		// The core's HW, not the durability-gated one clients see: the
		// core decides when followers need a heartbeat by what it sent.
		LeaderHw:       r.lead.HW(),
		LeaderLogStart: r.log.LogStartOffset(),
		Seq:            push.Seq,
	}
	if push.Heartbeat {
		return req, 0
	}
	data := r.hot.records
	if push.From != r.hot.first || len(data) == 0 || len(data) > push.MaxBytes {
		var err error
		data, err = r.log.Read(push.From, push.MaxBytes, r.lead.LEO())
		if err != nil {
			if errors.Is(err, commitlog.ErrOffsetOutOfRange) {
				// Retention moved the log start: the core starts the
				// follower's pushes there once it learns it.
				r.lead.SetLogStart(r.log.LogStartOffset())
			} else {
				r.logger.Warn("read for replication", "offset", push.From, "to", push.To, "error", err)
			}
			return nil, 0
		}
	}
	base, end, ok := batchRange(data)
	if !ok {
		return nil, 0
	}
	req.BaseOffset, req.EndOffset, req.Records = base, end, data
	return req, len(data)
}

// batchRange returns the base offset of the first batch in data and the
// offset after the last one, reading headers only.
func batchRange(data []byte) (base, end int64, ok bool) {
	first := true
	for len(data) > 0 {
		h, err := batch.ParseHeader(data)
		if err != nil || h.Size() > len(data) {
			return 0, 0, false
		}
		if first {
			base, first = h.BaseOffset, false
		}
		end = h.NextOffset()
		data = data[h.Size():]
	}
	return base, end, !first
}

// handleReplicateResponse feeds a follower's answer to the core.
func (r *replica) handleReplicateResponse(ctx actor.Context, m *messages.ReplicateResponse) {
	if r.lead == nil {
		return
	}
	r.applyLeader(ctx, r.lead.OnReplicateAck(m, time.Now()))
}

// handleEpochQuery answers a follower's OffsetsForLeaderEpoch request.
func (r *replica) handleEpochQuery(ctx actor.Context, m *messages.OffsetsForLeaderEpochRequest) {
	if ctx.Sender() == nil {
		return
	}
	if r.lead == nil {
		r.refuse(ctx, messages.Wrap(messages.ErrorCode_NOT_LEADER_OR_FOLLOWER,
			"node %d does not lead %s/%d", r.cfg.NodeID, r.cfg.Topic, r.cfg.Partition))
		return
	}
	ctx.Respond(r.lead.AnswerEpochQuery(m, r.log))
}

// refusePush answers a push reaching a replica that does not follow: an
// older leader is fenced, a newer one means this replica's metadata is
// stale.
func (r *replica) refusePush(ctx actor.Context, m *messages.ReplicateRequest) {
	resp, _ := replication.RefusePush(r.cfg.NodeID, r.state.LeaderEpoch, m)
	r.replyPush(ctx, m, resp)
}

// replyPush answers a push to its sender, or to the leader's replica when
// the push came without one.
func (r *replica) replyPush(ctx actor.Context, m *messages.ReplicateRequest, resp *messages.ReplicateResponse) {
	if ctx.Sender() != nil {
		ctx.Respond(resp)
		return
	}
	if pid := r.cfg.peer(m.LeaderId); pid != nil {
		ctx.Send(pid, resp)
	}
}

// publishHW moves the leader's high watermark to what both the
// replication core and the local flush policy allow: the smallest log end
// offset of the ISR, and no further than the leader's own durable end.
// Alone in the ISR that is the durable end, as with replication factor 1.
func (r *replica) publishHW(ctx actor.Context) {
	if r.lead == nil || r.log == nil {
		return
	}
	r.commitThrough(ctx, min(r.durableEnd, r.lead.HW()))
}

// markDurable records that the leader's log is written through end
// (exclusive) under its flush policy: acks=1 produces below it are
// answered, completed acks=all produces too, and the high watermark may
// move. Under the interval and always policies the produces that waited
// for this have their flush stage stamped.
func (r *replica) markDurable(ctx actor.Context, end int64) {
	if end > r.durableEnd {
		r.durableEnd = end
	}
	var now time.Time
	if r.log != nil && r.log.Config().FlushPolicy != commitlog.FlushNever {
		now = time.Now()
		r.allAcks.durableBelow(r.durableEnd, func(p pendingProduce) { p.flushed(now) })
	}
	for _, p := range r.acks.committed(r.durableEnd) {
		if !now.IsZero() {
			p.flushed(now)
		}
		r.answerProduce(ctx, p)
	}
	for _, p := range r.allAcks.ready(r.durableEnd) {
		r.answerProduce(ctx, p)
	}
	r.publishHW(ctx)
}

// completeAll applies the core's verdict on an acks=all produce: an error
// is answered at once, success once the leader's log is durable through
// it.
func (r *replica) completeAll(ctx actor.Context, d replication.ProduceDone) {
	if d.Err == nil {
		if p, ok := r.allAcks.complete(d.ID, false); ok {
			p.replicated(time.Now())
		}
		for _, p := range r.allAcks.ready(r.durableEnd) {
			r.answerProduce(ctx, p)
		}
		return
	}
	p, ok := r.allAcks.complete(d.ID, true)
	if !ok {
		return
	}
	p.resp.ErrorCode = messages.CodeFor(d.Err)
	p.resp.ErrorMessage = d.Err.Error()
	r.answerProduce(ctx, p)
}
