package partition

import (
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/replication"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

// queryRetry resends the follower's outstanding OffsetsForLeaderEpoch
// question; gen tells retries of an earlier Follower apart.
type queryRetry struct{ gen uint64 }

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

// applyFollower carries out a Follower's effects: truncations right here
// (each fsynced by the log), then the query, announcement or retry.
func (r *replica) applyFollower(ctx actor.Context, eff replication.FollowerEffects) {
	f := r.follow
	for eff.Truncate && f != nil {
		if err := r.truncateTo(eff.TruncateTo); err != nil {
			r.logger.Error("truncate to the leader's log", "offset", eff.TruncateTo, "error", err)
			return
		}
		eff = f.Truncated(r.log.LogEndOffset(), r.log.LatestEpoch())
	}
	switch {
	case f == nil:
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

// truncateTo cuts the log at offset (below the log start it restarts the
// log there) and restarts the high-watermark bookkeeping.
func (r *replica) truncateTo(offset int64) error {
	leo := r.log.LogEndOffset()
	if offset >= leo {
		return nil
	}
	err := r.log.TruncateTo(offset)
	var oor *commitlog.OffsetOutOfRangeError
	if errors.As(err, &oor) {
		err = r.log.TruncateFullyAndStartAt(offset)
	}
	if err != nil {
		return err
	}
	r.logger.Info("truncated log to the leader's", "from", leo, "to", r.log.LogEndOffset(),
		"leader", r.state.Leader, "epoch", r.state.LeaderEpoch)
	r.cfg.Metrics.truncated()
	r.afterTruncate()
	return nil
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
	d := f.OnPush(m)
	if !d.Append {
		if d.HWChanged {
			r.followerHW()
		}
		d.Response.LogStart = r.log.LogStartOffset()
		r.replyPush(ctx, m, d.Response)
		return
	}
	if d.StartAt >= 0 {
		if err := r.log.TruncateFullyAndStartAt(d.StartAt); err != nil {
			r.logger.Error("restart log at the leader's log start", "offset", d.StartAt, "error", err)
		} else {
			r.afterTruncate()
		}
	}
	info, err := r.log.AppendReplicated(m.Records)
	if err != nil {
		r.logger.Error("append replicated batches", "offset", m.BaseOffset, "error", err)
	} else {
		r.progress.appended(info.LastOffset+1, info.Bytes)
		r.cfg.Metrics.replicated(info.Bytes)
	}
	resp, hwChanged := f.Appended(m, r.log.LogEndOffset())
	if hwChanged {
		r.followerHW()
	}
	resp.LogStart = r.log.LogStartOffset()
	r.replyPush(ctx, m, resp)
}

// followerHW adopts the Follower's high watermark.
func (r *replica) followerHW() {
	hw := r.follow.HW()
	r.log.SetHighWatermark(hw)
	r.progress.advance(hw)
}
