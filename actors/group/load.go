package group

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	core "github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
)

// startLoad rebuilds the group from its __consumer_offsets partition: it
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
	c.loadSeqs = make(map[int64]producerSeq)
	c.loadBounds(ctx, c.incarnation, -1)
}

// loadBounds asks for the partition's bounds and starts reading once the
// high watermark reaches target, the log end seen first (-1: not seen
// yet). A new leader commits what its log holds only once its followers
// confirm it, and the last writes of the previous coordinator may be
// among those records; later writes (of other groups) are not waited for.
func (c *coordinator) loadBounds(ctx actor.Context, inc uint64, target int64) {
	req := &messages.PartitionStatusRequest{Topic: messages.ConsumerOffsetsTopic, Partition: c.partition}
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
			c.loadFailed(ctx, inc, fmt.Errorf("replica of %s/%d is not the leader", messages.ConsumerOffsetsTopic, c.partition))
		default:
			if target < 0 {
				target = status.LogEndOffset
			}
			if status.HighWatermark < target {
				c.logger.Debug("group load waits for the high watermark", "high_watermark", status.HighWatermark, "target", target)
				system, self := ctx.ActorSystem(), ctx.Self()
				time.AfterFunc(loadRetryDelay, func() { system.Root.Send(self, &awaitBounds{inc: inc, target: target}) })
				return
			}
			c.loadStep(ctx, inc, core.NewReplay(), status.LogStartOffset, status.HighWatermark)
		}
	})
}

// loadStep fetches from offset and continues until end.
func (c *coordinator) loadStep(ctx actor.Context, inc uint64, replay *core.Replay, offset, end int64) {
	if offset >= end {
		c.loadDone(ctx, replay)
		return
	}
	req := &messages.FetchRequest{
		Topic:       messages.ConsumerOffsetsTopic,
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
		next, err := replayRecords(resp.Records, offset, c.groupID, replay, c.loadSeqs)
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
	c.logger.Warn("group load failed; retrying", "partition", c.partition, "error", err, "retry_in", loadRetryDelay)
	system, self := ctx.ActorSystem(), ctx.Self()
	time.AfterFunc(loadRetryDelay, func() { system.Root.Send(self, &retryLoad{inc: inc}) })
}

// loadDone installs the replayed state.
func (c *coordinator) loadDone(ctx actor.Context, replay *core.Replay) {
	now := c.cfg.Now()
	g := c.newGroup()
	if err := g.Load(now, replay.Groups[c.groupID]); err != nil {
		c.logger.Error("group metadata unreadable; starting the group empty", "error", err)
		g = c.newGroup()
	}
	c.g = g
	c.offsets = replay.Offsets[c.groupID]
	c.offsetsVersion++
	if c.offsets == nil {
		c.offsets = make(map[core.Partition]core.OffsetValue)
	}
	c.pending = replay.Pending[c.groupID]
	if c.pending == nil {
		c.pending = core.NewPendingOffsets()
	}
	c.seqs, c.loadSeqs = c.loadSeqs, nil
	c.loading, c.loaded = false, true
	elapsed := time.Since(c.loadStarted)
	c.logger.Debug("group loaded", "partition", c.partition, "state", g.State(), "generation", g.Generation(),
		"offsets", len(c.offsets), "records_read", replay.Read, "elapsed", elapsed)
	if c.cfg.OnLoad != nil {
		c.cfg.OnLoad(c.groupID, replay.Read, elapsed)
	}
	c.schedule(ctx, g.Deadline())
	c.publishStats() // continuations do not pass through Receive
}

// newGroup returns a fresh state machine; the config was validated by the
// Host, so New cannot fail.
func (c *coordinator) newGroup() *core.Group {
	g, err := core.New(c.groupID, c.cfg.Group)
	if err != nil {
		panic(fmt.Sprintf("group %q: %v", c.groupID, err))
	}
	return g
}
