package partition

import (
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/replication"
	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/commitlog"
	"github.com/sluice-mq/sluice/storage/producerstate"
)

// queryRetry resends the follower's outstanding OffsetsForLeaderEpoch
// question; gen tells retries of an earlier Follower apart.
type queryRetry struct{ gen uint64 }

// Completions of disk work a follower hands off; gen tells those of an
// earlier Follower apart.
type (
	truncated struct {
		gen       uint64
		from      int64                // log end offset before the cut
		producers *producerstate.State // rebuilt for the log left
		err       error
	}
	pushDurable struct {
		gen    uint64
		push   *messages.ReplicateRequest
		resp   *messages.ReplicateResponse
		sender *actor.PID
		err    error
	}
	restarted struct {
		gen       uint64
		push      *messages.ReplicateRequest // appended once the log restarted
		producers *producerstate.State       // empty, at the new log start
		err       error
	}
)

// startFollower starts following the leader of r.state: it finds where
// its log diverges from the leader's, truncates there, announces its log
// end offset and then accepts pushes. Without a leader (-1) there is no
// Follower and pushes are refused.
func (r *replica) startFollower(ctx actor.Context) {
	r.follow = nil
	r.followGen++
	if r.queryTimer != nil {
		r.queryTimer.Stop()
		r.queryTimer = nil
	}
	if r.state.Leader < 0 || r.state.Leader == r.cfg.NodeID {
		return
	}
	f, eff := replication.NewFollower(r.cfg.NodeID, r.state.Leader, r.state.LeaderEpoch,
		r.log.LogEndOffset(), r.log.HighWatermark(), r.log.LatestEpoch())
	r.follow = f
	r.logger.Debug("following", "leader", r.state.Leader, "epoch", r.state.LeaderEpoch)
	r.applyFollower(ctx, eff)
}

// applyFollower carries out a Follower's effects: a truncation is handed
// to a goroutine and continues in handleTruncated; the query,
// announcement or retry happen right here.
func (r *replica) applyFollower(ctx actor.Context, eff replication.FollowerEffects) {
	f := r.follow
	switch {
	case f == nil:
	case eff.Truncate:
		r.startTruncate(ctx, eff.TruncateTo)
	case eff.Query != nil:
		r.sendEpochQuery(ctx, *eff.Query)
	case eff.Announce != nil:
		eff.Announce.LogStart = r.log.LogStartOffset()
		if pid := r.cfg.peer(f.Leader()); pid != nil {
			ctx.Send(pid, eff.Announce)
		}
		r.logger.Debug("caught up with the leader's log", "leader", f.Leader(), "leo", f.LEO())
	case eff.RefreshMetadata:
		r.scheduleQueryRetry(ctx)
	}
}

// startTruncate cuts the log at offset (below the log start it restarts
// the log there) in a goroutine: the cut and its fsync never block the
// mailbox. The Follower refuses pushes until handleTruncated reports.
func (r *replica) startTruncate(ctx actor.Context, offset int64) {
	l, gen, from := r.log, r.followGen, r.log.LogEndOffset()
	if offset >= from {
		r.applyFollower(ctx, r.follow.Truncated(from, l.LatestEpoch()))
		return
	}
	snaps, txns, pcfg, metrics := r.snapshots, r.txns, r.cfg.producerConfig(), r.cfg.Metrics
	r.runDiskOp(ctx, func() any {
		// No snapshot may describe records the cut removes: drop them
		// before the log is cut, then rebuild from what is left.
		snaps.drain()
		_, err := producerstate.DeleteSnapshotsAbove(nil, l.Dir(), offset)
		if err == nil {
			err = l.TruncateTo(offset)
		}
		var oor *commitlog.OffsetOutOfRangeError
		if errors.As(err, &oor) {
			if _, err = producerstate.DeleteSnapshotsAbove(nil, l.Dir(), -1); err == nil {
				err = l.TruncateFullyAndStartAt(offset)
			}
		}
		t := &truncated{gen: gen, from: from, err: err}
		if err == nil {
			var stats producerstate.LoadStats
			t.producers, stats, t.err = rebuildProducers(l, txns, pcfg)
			metrics.replayed(stats.Batches)
		}
		return t
	})
}

// handleTruncated finishes a truncation: the bookkeeping restarts at the
// new log end and the Follower goes on with its search.
func (r *replica) handleTruncated(ctx actor.Context, m *truncated) {
	r.diskOpDone(ctx, func() {
		if r.log == nil {
			return
		}
		if m.producers != nil {
			r.producers, r.snapBase = m.producers, r.log.ActiveSegmentBase()
		}
		if m.err != nil {
			r.logger.Error("truncate to the leader's log", "from", m.from, "error", m.err)
			r.resetProducers()
			return
		}
		r.logger.Info("truncated log to the leader's", "from", m.from, "to", r.log.LogEndOffset(),
			"leader", r.state.Leader, "epoch", r.state.LeaderEpoch)
		r.cfg.Metrics.truncated()
		r.afterTruncate()
		if r.follow != nil && m.gen == r.followGen {
			r.applyFollower(ctx, r.follow.Truncated(r.log.LogEndOffset(), r.log.LatestEpoch()))
		}
	})
}

func (r *replica) afterTruncate() {
	r.progress.reset(r.log.HighWatermark())
	r.durableEnd = min(r.durableEnd, r.log.LogEndOffset())
}

// sendEpochQuery asks the leader where an epoch ends. The answer comes
// back through ReenterAfter, so the mailbox keeps running; an error
// answer (the leader has not taken up the epoch yet) or an unreachable
// leader is retried after a replication tick, a lost answer after its
// timeout.
func (r *replica) sendEpochQuery(ctx actor.Context, q replication.Query) {
	f := r.follow
	pid := r.cfg.peer(f.Leader())
	if pid == nil {
		r.scheduleQueryRetry(ctx)
		return
	}
	req := &messages.OffsetsForLeaderEpochRequest{
		Topic:          r.cfg.Topic,
		Partition:      r.cfg.Partition,
		LeaderEpoch:    q.LeaderEpoch,
		RequestedEpoch: q.RequestedEpoch,
		ReplicaId:      r.cfg.NodeID,
	}
	future := ctx.RequestFuture(pid, req, r.cfg.retryInterval()*5)
	ctx.ReenterAfter(future, func(res any, err error) {
		if r.follow != f || r.log == nil {
			return
		}
		resp, ok := res.(*messages.OffsetsForLeaderEpochResponse)
		if err != nil || !ok {
			r.scheduleQueryRetry(ctx)
			return
		}
		r.applyFollower(ctx, f.OnEpochEndOffset(resp, r.log))
	})
}

func (r *replica) scheduleQueryRetry(ctx actor.Context) {
	if r.queryTimer != nil {
		r.queryTimer.Stop()
	}
	system, self, gen := ctx.ActorSystem(), ctx.Self(), r.followGen
	r.queryTimer = time.AfterFunc(r.cfg.replicationTick(), func() {
		system.Root.Send(self, &queryRetry{gen: gen})
	})
}

func (r *replica) handleQueryRetry(ctx actor.Context, m *queryRetry) {
	if r.follow == nil || m.gen != r.followGen {
		return
	}
	r.queryTimer = nil
	if q, ok := r.follow.PendingQuery(); ok {
		r.sendEpochQuery(ctx, q)
	}
}

// handlePush appends a leader's push when the Follower accepts it and
// answers with the log end offset either way.
func (r *replica) handlePush(ctx actor.Context, m *messages.ReplicateRequest) {
	f := r.follow
	if f == nil {
		r.refusePush(ctx, m)
		return
	}
	if r.diskOp != nil {
		// A truncation or restart of the log is running: the leader
		// resends once this push goes unanswered.
		return
	}
	d := f.OnPush(m)
	if !d.Append {
		if d.HWChanged {
			r.followerHW()
		}
		d.Response.LogStart = r.log.LogStartOffset()
		r.replyPush(ctx, m, d.Response)
		if d.Response.ErrorCode == messages.ErrorCode_NONE {
			r.followLogStart(ctx, m.LeaderLogStart)
		}
		return
	}
	if d.StartAt >= 0 {
		// Emptying the log deletes files: off the actor, then the append.
		l, gen, start, snaps, txns, pcfg := r.log, r.followGen, d.StartAt, r.snapshots, r.txns, r.cfg.producerConfig()
		r.runDiskOp(ctx, func() any {
			snaps.drain()
			_, err := producerstate.DeleteSnapshotsAbove(nil, l.Dir(), -1)
			if err == nil {
				err = txns.TruncateFrom(0)
			}
			if err == nil {
				err = l.TruncateFullyAndStartAt(start)
			}
			return &restarted{gen: gen, push: m, err: err, producers: producerstate.New(pcfg, l.LogEndOffset())}
		})
		return
	}
	r.appendPush(ctx, f, m)
	r.followLogStart(ctx, m.LeaderLogStart)
}

// handleRestarted finishes a push that started the log over at the
// leader's log start: the push's records are appended now.
func (r *replica) handleRestarted(ctx actor.Context, m *restarted) {
	r.diskOpDone(ctx, func() {
		if r.log == nil || r.follow == nil || m.gen != r.followGen {
			return
		}
		if m.err != nil {
			r.logger.Error("restart log at the leader's log start", "offset", m.push.BaseOffset, "error", m.err)
			r.resetProducers()
		} else {
			r.producers, r.snapBase = m.producers, r.log.ActiveSegmentBase()
			r.afterTruncate()
		}
		r.appendPush(ctx, r.follow, m.push)
	})
}

// appendPush appends a push's records and answers the leader.
func (r *replica) appendPush(ctx actor.Context, f *replication.Follower, m *messages.ReplicateRequest) {
	_, err := batch.Check(m.Records, r.cfg.checkOptions(batch.FromLeader))
	var info commitlog.AppendInfo
	if err == nil {
		info, err = r.log.AppendReplicated(m.Records)
	}
	if err != nil {
		r.logger.Error("append replicated batches", "offset", m.BaseOffset, "error", err)
	} else {
		r.appliedBatches(info.FirstOffset, m.Records)
		r.progress.appended(info.LastOffset+1, info.Bytes)
		r.cfg.Metrics.replicated(info.Bytes)
	}
	resp, hwChanged := f.Appended(m, r.log.LogEndOffset())
	if hwChanged {
		r.followerHW()
	}
	resp.LogStart = r.log.LogStartOffset()
	if err == nil && r.log.Config().FlushPolicy == commitlog.FlushAlways {
		// flush.policy=always: the leader counts the records as this
		// replica's once they are fsynced here, as it does its own.
		system, self, sender, gen, last := ctx.ActorSystem(), ctx.Self(), ctx.Sender(), r.followGen, info.LastOffset
		r.log.AwaitDurable(last, func(err error) {
			system.Root.Send(self, &pushDurable{gen: gen, push: m, resp: resp, sender: sender, err: err})
		})
		return
	}
	r.replyPush(ctx, m, resp)
}

// handlePushDurable answers a push whose records the Flusher fsynced; if
// the fsync failed the push goes unanswered and the leader resends.
func (r *replica) handlePushDurable(ctx actor.Context, m *pushDurable) {
	if m.err != nil {
		if !errors.Is(m.err, commitlog.ErrClosed) {
			r.logger.Error("fsync replicated batches", "offset", m.push.BaseOffset, "error", m.err)
		}
		return
	}
	if r.follow == nil || m.gen != r.followGen {
		return
	}
	if m.sender != nil {
		ctx.Send(m.sender, m.resp)
		return
	}
	r.replyPush(ctx, m.push, m.resp)
}

// followerHW adopts the Follower's high watermark.
func (r *replica) followerHW() {
	hw := r.follow.HW()
	r.log.SetHighWatermark(hw)
	r.progress.advance(hw)
	r.noteStable()
}
