package txn

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/txnstate"
)

// startLoad rebuilds the id's state from its __transaction_state partition: it
// asks the local replica for the partition's bounds, waits until the high
// watermark covers the log as it was (a new leader's may lag behind), then
// fetches from the log start to the high watermark, one step per
// continuation, so the mailbox keeps moving (requests meanwhile get
// COORDINATOR_LOAD_IN_PROGRESS). A failed step retries the whole load
// after loadRetryDelay.
func (c *coordinator) startLoad(ctx actor.Context) {
	c.incarnation++
	c.loading, c.loaded = true, false
	c.loadStarted = time.Now()
	c.loadBounds(ctx, c.incarnation, -1)
}

// loadBounds asks for the partition's bounds and starts reading once the
// high watermark reaches target, the log end seen first (-1: not seen
// yet). A new leader commits what its log holds only once its followers
// confirm it, and the last writes of the previous coordinator may be
// among those records; later writes (of other ids) are not waited for.
func (c *coordinator) loadBounds(ctx actor.Context, inc uint64, target int64) {
	req := &messages.PartitionStatusRequest{Topic: messages.TransactionStateTopic, Partition: c.partition}
	ctx.ReenterAfter(ctx.RequestFuture(c.replica, req, loadStepTimeout), func(res any, err error) {
		if inc != c.incarnation {
			return
		}
		status, ok := res.(*messages.PartitionStatusResponse)
		switch {
		case err != nil:
			c.loadFailed(ctx, inc, err)
		case !ok:
			c.loadFailed(ctx, inc, fmt.Errorf("unexpected reply %T", res))
		case status.ErrorCode != messages.ErrorCode_NONE:
			c.loadFailed(ctx, inc, messages.ErrorForCode(status.ErrorCode, status.ErrorMessage))
		case !status.Leader:
			c.loadFailed(ctx, inc, fmt.Errorf("replica of %s/%d is not the leader", messages.TransactionStateTopic, c.partition))
		default:
			if target < 0 {
				target = status.LogEndOffset
			}
			if status.HighWatermark < target {
				c.logger.Debug("transaction load waits for the high watermark", "high_watermark", status.HighWatermark, "target", target)
				system, self := ctx.ActorSystem(), ctx.Self()
				msg := &awaitBounds{instance: c.instance, inc: inc, target: target}
				time.AfterFunc(loadRetryDelay, func() { system.Root.Send(self, msg) })
				return
			}
			c.loadStep(ctx, inc, txnstate.NewReplay(), status.LogStartOffset, status.HighWatermark)
		}
	})
}

// loadStep fetches from offset and continues until end.
func (c *coordinator) loadStep(ctx actor.Context, inc uint64, replay *txnstate.Replay, offset, end int64) {
	if offset >= end {
		c.loadDone(ctx, replay)
		return
	}
	req := &messages.FetchRequest{
		Topic:       messages.TransactionStateTopic,
		Partition:   c.partition,
		Offset:      offset,
		MaxBytes:    c.cfg.LoadFetchBytes,
		LeaderEpoch: -1,
	}
	ctx.ReenterAfter(ctx.RequestFuture(c.replica, req, loadStepTimeout), func(res any, err error) {
		if inc != c.incarnation {
			return
		}
		resp, ok := res.(*messages.FetchResponse)
		switch {
		case err != nil:
			c.loadFailed(ctx, inc, err)
			return
		case !ok:
			c.loadFailed(ctx, inc, fmt.Errorf("unexpected reply %T", res))
			return
		case resp.ErrorCode == messages.ErrorCode_OFFSET_OUT_OF_RANGE && offset < resp.LogStartOffset:
			// Retention or compaction moved the log start meanwhile.
			c.loadStep(ctx, inc, replay, resp.LogStartOffset, end)
			return
		case resp.ErrorCode != messages.ErrorCode_NONE:
			c.loadFailed(ctx, inc, messages.ErrorForCode(resp.ErrorCode, resp.ErrorMessage))
			return
		}
		next, err := replayRecords(resp.Records, offset, c.id, replay)
		if err != nil {
			c.loadFailed(ctx, inc, err)
			return
		}
		if next <= offset {
			// Nothing readable below the high watermark from here (a
			// compacted gap at the end): the log is fully read.
			c.loadDone(ctx, replay)
			return
		}
		c.loadStep(ctx, inc, replay, next, end)
	})
}

func (c *coordinator) loadFailed(ctx actor.Context, inc uint64, err error) {
	c.logger.Warn("transaction load failed; retrying", "partition", c.partition, "error", err, "retry_in", loadRetryDelay)
	system, self := ctx.ActorSystem(), ctx.Self()
	msg := &retryLoad{instance: c.instance, inc: inc}
	time.AfterFunc(loadRetryDelay, func() { system.Root.Send(self, msg) })
}

// loadDone installs the replayed state; a transaction decided before the
// failover has its markers written again and is completed.
func (c *coordinator) loadDone(ctx actor.Context, replay *txnstate.Replay) {
	t, err := txnstate.New(c.id, c.cfg.Txn)
	if err != nil {
		panic(fmt.Sprintf("transactional id %q: %v", c.id, err)) // the Host validated the config
	}
	c.txn = t
	c.loading, c.loaded = false, true
	md := replay.Txns[c.id]
	c.logger.Debug("transactional id loaded", "partition", c.partition, "found", md != nil,
		"records_read", replay.Read, "elapsed", time.Since(c.loadStarted))
	c.apply(ctx, t.Load(c.cfg.Now(), md))
}
