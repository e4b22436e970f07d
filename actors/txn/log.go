package txn

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/txnstate"
)

// persist appends the state machine's record (or tombstone) and reports
// the outcome back to it.
func (c *coordinator) persist(ctx actor.Context, p *txnstate.Persist) {
	inc := c.incarnation
	var value []byte
	if p.Metadata != nil {
		value = p.Metadata.Encode()
	}
	c.write(ctx, txnstate.EncodeKey(c.id), value, func(err error) {
		if !c.current(inc) {
			return
		}
		if err != nil {
			c.logger.Warn("transaction state write failed", "error", err)
		}
		c.apply(ctx, c.txn.PersistDone(c.cfg.Now(), p.Seq, err))
		if err != nil && messages.CodeFor(err) == messages.ErrorCode_NOT_COORDINATOR {
			c.logger.Info("transactional id unloaded: its partition is led elsewhere", "partition", c.partition)
			c.unload(ctx)
		}
	})
}

// current reports whether the id is loaded in incarnation inc.
func (c *coordinator) current(inc uint64) bool { return c.loaded && c.incarnation == inc }

// write appends one record to the id's partition with acks=all and calls
// done on the actor once the replica answered.
func (c *coordinator) write(ctx actor.Context, key, value []byte, done func(error)) {
	b := batch.NewBuilder(batch.DefaultEncodeOptions())
	b.Append(c.cfg.Now().UnixMilli(), key, value, nil)
	buf, err := b.Build()
	if err != nil {
		done(messages.Wrap(messages.ErrorCode_UNKNOWN_SERVER_ERROR, "encode record: %v", err))
		return
	}
	req := &messages.ProduceRequest{
		Topic:       messages.TransactionStateTopic,
		Partition:   c.partition,
		Acks:        -1,
		TimeoutMs:   int32(c.cfg.WriteTimeout.Milliseconds()),
		Records:     buf,
		LeaderEpoch: c.epoch,
	}
	ctx.ReenterAfter(ctx.RequestFuture(c.replica, req, c.cfg.WriteTimeout), func(res any, err error) {
		done(produceResult(res, err))
	})
}

// produceResult maps the outcome of an append to __transaction_state to
// the error a request reports, as Kafka's coordinator does: a replica
// that does not lead (any more) means this node is not the coordinator, a
// missing ISR or a timeout that the coordinator is not available.
func produceResult(res any, err error) error {
	if err != nil {
		return messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "append to %s: %v", messages.TransactionStateTopic, err)
	}
	resp, ok := res.(*messages.ProduceResponse)
	if !ok {
		return messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "append to %s: unexpected reply %T", messages.TransactionStateTopic, res)
	}
	switch resp.ErrorCode {
	case messages.ErrorCode_NONE:
		return nil
	case messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, messages.ErrorCode_NOT_ENOUGH_REPLICAS,
		messages.ErrorCode_NOT_ENOUGH_REPLICAS_AFTER_APPEND, messages.ErrorCode_REQUEST_TIMED_OUT:
		return messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "append to %s: %s", messages.TransactionStateTopic, resp.ErrorMessage)
	case messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, messages.ErrorCode_FENCED_LEADER_EPOCH,
		messages.ErrorCode_UNKNOWN_LEADER_EPOCH, messages.ErrorCode_KAFKA_STORAGE_ERROR:
		return messages.Wrap(messages.ErrorCode_NOT_COORDINATOR, "append to %s: %s", messages.TransactionStateTopic, resp.ErrorMessage)
	default:
		return messages.Wrap(messages.ErrorCode_UNKNOWN_SERVER_ERROR, "append to %s: %s: %s", messages.TransactionStateTopic, resp.ErrorCode, resp.ErrorMessage)
	}
}

// startMarkers writes the markers of a decided transaction, each retried
// until written.
func (c *coordinator) startMarkers(ctx actor.Context, m *txnstate.Markers) {
	c.markerRound++
	c.markers = m
	for _, p := range m.Partitions {
		c.writeMarker(ctx, c.markerRound, p)
	}
}

func (c *coordinator) writeMarker(ctx actor.Context, round uint64, p txnstate.Partition) {
	m := c.markers
	marker := Marker{
		Topic: p.Topic, Partition: p.Partition, ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch,
		Commit: m.Commit, CoordinatorEpoch: c.epoch,
	}
	c.cfg.Markers.Write(ctx, marker, func(err error) {
		if round != c.markerRound || !c.loaded {
			return
		}
		switch {
		case errors.Is(err, ErrPartitionGone):
			c.logger.Info("transaction marker skipped: partition gone", "topic", p.Topic, "partition", p.Partition, "error", err)
		case err != nil:
			c.logger.Debug("transaction marker write failed; retrying", "topic", p.Topic, "partition", p.Partition,
				"error", err, "retry_in", c.cfg.MarkerRetryBackoff)
			system, self := ctx.ActorSystem(), ctx.Self()
			msg := &retryMarker{instance: c.instance, round: round, p: p}
			time.AfterFunc(c.cfg.MarkerRetryBackoff, func() { system.Root.Send(self, msg) })
			return
		}
		c.apply(ctx, c.txn.MarkerWritten(c.cfg.Now(), p))
	})
}

// replayRecords feeds the records of transactionalID found in buf, a Fetch
// response's batches, to replay (every id's when transactionalID is ""),
// skipping control batches. It returns the offset after the last whole
// batch, or from when buf holds none.
func replayRecords(buf []byte, from int64, transactionalID string, replay *txnstate.Replay) (int64, error) {
	next := from
	for len(buf) > 0 {
		h, b, rest, err := batch.Next(buf)
		if errors.Is(err, batch.ErrShortBatch) {
			break
		}
		if err != nil {
			return next, fmt.Errorf("read %s at %d: %w", messages.TransactionStateTopic, next, err)
		}
		buf = rest
		next = h.NextOffset()
		if h.Attributes.Control() {
			continue
		}
		err = batch.ForEach(b, func(r batch.Record) error {
			if transactionalID != "" {
				if id, err := txnstate.DecodeKey(r.Key); err != nil || id != transactionalID {
					return nil
				}
			}
			// Kafka skips records it cannot read; so does the load.
			_ = replay.Apply(r.Key, r.Value)
			return nil
		})
		if err != nil {
			return next, err
		}
	}
	return next, nil
}
