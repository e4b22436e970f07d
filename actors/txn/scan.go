package txn

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/txnstate"
)

// partitionScanned reports a scan of one __transaction_state partition
// (every id's state, or the error that ended the scan) to whoever asked.
// It never leaves the process.
type partitionScanned struct {
	partition int32
	epoch     int32
	replay    *txnstate.Replay
	err       error
}

// How long a scan waits for the local replica to lead its partition and
// commit its log: a new leader's scan waits through the election, a list
// answers soon.
const (
	scanPatience     = 2 * time.Minute
	listScanPatience = 5 * time.Second
)

// scanner reads one __transaction_state partition of the local node from
// the log start to the high watermark (once that covers the log end it
// first saw), replays every id, reports to replyTo and stops. Owned by its
// actor.
type scanner struct {
	partition int32
	epoch     int32
	replyTo   *actor.PID
	fetch     int32
	patience  time.Duration
	deadline  time.Time
	replica   *actor.PID
	replay    *txnstate.Replay
}

// scanProps returns the props of a scanner of partition (led in epoch).
func scanProps(partition, epoch int32, replyTo *actor.PID, fetchBytes int32, patience time.Duration) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &scanner{partition: partition, epoch: epoch, replyTo: replyTo, fetch: fetchBytes, patience: patience, replay: txnstate.NewReplay()}
	})
}

// scanRetry: ask for the partition's bounds again.
type scanRetry struct{ target int64 }

func (s *scanner) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.deadline = time.Now().Add(s.patience)
		s.replica = actor.NewPID(ctx.Self().Address, messages.ReplicaActorID(messages.TransactionStateTopic, s.partition))
		s.bounds(ctx, -1)
	case *scanRetry:
		s.bounds(ctx, m.target)
	}
}

func (s *scanner) finish(ctx actor.Context, err error) {
	ctx.Send(s.replyTo, &partitionScanned{partition: s.partition, epoch: s.epoch, replay: s.replay, err: err})
	ctx.Stop(ctx.Self())
}

// retry asks again after loadRetryDelay, or gives up past the deadline.
func (s *scanner) retry(ctx actor.Context, target int64, err error) {
	if time.Now().After(s.deadline) {
		s.finish(ctx, err)
		return
	}
	system, self := ctx.ActorSystem(), ctx.Self()
	time.AfterFunc(loadRetryDelay, func() { system.Root.Send(self, &scanRetry{target: target}) })
}

func (s *scanner) bounds(ctx actor.Context, target int64) {
	req := &messages.PartitionStatusRequest{Topic: messages.TransactionStateTopic, Partition: s.partition}
	ctx.ReenterAfter(ctx.RequestFuture(s.replica, req, loadStepTimeout), func(res any, err error) {
		status, ok := res.(*messages.PartitionStatusResponse)
		switch {
		case err != nil:
			s.retry(ctx, target, err)
		case !ok:
			s.retry(ctx, target, fmt.Errorf("unexpected reply %T", res))
		case status.ErrorCode != messages.ErrorCode_NONE:
			s.retry(ctx, target, messages.ErrorForCode(status.ErrorCode, status.ErrorMessage))
		case !status.Leader:
			s.retry(ctx, target, fmt.Errorf("replica of %s/%d is not the leader", messages.TransactionStateTopic, s.partition))
		default:
			if target < 0 {
				target = status.LogEndOffset
			}
			if status.HighWatermark < target {
				s.retry(ctx, target, fmt.Errorf("high watermark %d below %d", status.HighWatermark, target))
				return
			}
			s.step(ctx, status.LogStartOffset, status.HighWatermark)
		}
	})
}

func (s *scanner) step(ctx actor.Context, offset, end int64) {
	if offset >= end {
		s.finish(ctx, nil)
		return
	}
	req := &messages.FetchRequest{Topic: messages.TransactionStateTopic, Partition: s.partition, Offset: offset, MaxBytes: s.fetch, LeaderEpoch: -1}
	ctx.ReenterAfter(ctx.RequestFuture(s.replica, req, loadStepTimeout), func(res any, err error) {
		resp, ok := res.(*messages.FetchResponse)
		switch {
		case err != nil:
			s.finish(ctx, err)
			return
		case !ok:
			s.finish(ctx, fmt.Errorf("unexpected reply %T", res))
			return
		case resp.ErrorCode == messages.ErrorCode_OFFSET_OUT_OF_RANGE && offset < resp.LogStartOffset:
			s.step(ctx, resp.LogStartOffset, end)
			return
		case resp.ErrorCode != messages.ErrorCode_NONE:
			s.finish(ctx, messages.ErrorForCode(resp.ErrorCode, resp.ErrorMessage))
			return
		}
		next, err := replayRecords(resp.Records, offset, "", s.replay)
		if err != nil {
			s.finish(ctx, err)
			return
		}
		if next <= offset {
			s.finish(ctx, nil)
			return
		}
		s.step(ctx, next, end)
	})
}
