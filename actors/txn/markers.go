package txn

import (
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
)

// Marker is one transaction marker to write: a COMMIT or ABORT control
// batch of the producer's transaction in one partition.
type Marker struct {
	Topic         string
	Partition     int32
	ProducerID    int64
	ProducerEpoch int16
	Commit        bool
	// CoordinatorEpoch is the leader epoch of the coordinator's
	// __transaction_state partition, so replicas can refuse markers of a
	// coordinator that was replaced.
	CoordinatorEpoch int32
}

// MarkerWriter writes transaction markers. Write runs inside the
// coordinator actor's Receive and must not block: it starts the write and
// arranges for done to run on the actor (ctx.ReenterAfter) with nil once
// the partition holds the marker, or with the error. The coordinator
// retries failures after Config.MarkerRetryBackoff; a partition that no
// longer exists is reported with ErrPartitionGone and not retried.
type MarkerWriter interface {
	Write(ctx actor.Context, m Marker, done func(error))
}

// ErrPartitionGone reports that a marker's partition no longer exists (its
// topic was deleted): there is nothing left to resolve there.
var ErrPartitionGone = errors.New("txn: partition of the transaction is gone")

// LeaderMarkers writes each marker with a WriteTxnMarkerRequest to the
// replica actor of the partition's leader, found with a MetadataRequest to
// the local node guardian (the coordinator's parent). For a
// __consumer_offsets partition it then tells the leader's node guardian
// (TxnOffsetsCompletedRequest), whose group coordinators make the
// producer's pending offsets visible or drop them. A partition that
// already saw a newer epoch of the producer (INVALID_PRODUCER_EPOCH) has
// nothing of this transaction left open: the marker counts as written.
type LeaderMarkers struct {
	// Timeout bounds each request; 0 means DefaultMarkerTimeout.
	Timeout time.Duration
}

// Write implements MarkerWriter.
func (w LeaderMarkers) Write(ctx actor.Context, m Marker, done func(error)) {
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = DefaultMarkerTimeout
	}
	meta := &messages.MetadataRequest{Topics: []string{m.Topic}}
	ctx.ReenterAfter(ctx.RequestFuture(ctx.Parent(), meta, timeout), func(res any, err error) {
		if err != nil {
			done(fmt.Errorf("find the leader of %s/%d: %w", m.Topic, m.Partition, err))
			return
		}
		address, epoch, err := leaderOf(res, m.Topic, m.Partition)
		if err != nil {
			done(err)
			return
		}
		replica := actor.NewPID(address, messages.ReplicaActorID(m.Topic, m.Partition))
		req := &messages.WriteTxnMarkerRequest{
			Topic: m.Topic, Partition: m.Partition, ProducerId: m.ProducerID, ProducerEpoch: int32(m.ProducerEpoch),
			CoordinatorEpoch: m.CoordinatorEpoch, Committed: m.Commit, LeaderEpoch: epoch, TimeoutMs: int32(timeout.Milliseconds()),
		}
		ctx.ReenterAfter(ctx.RequestFuture(replica, req, timeout), func(res any, err error) {
			if err == nil {
				err = markerResult(res)
			}
			if err != nil || m.Topic != messages.ConsumerOffsetsTopic {
				done(err)
				return
			}
			node := actor.NewPID(address, messages.NodeActorID)
			req := &messages.TxnOffsetsCompletedRequest{
				Partition: m.Partition, ProducerId: m.ProducerID, ProducerEpoch: int32(m.ProducerEpoch), Committed: m.Commit,
			}
			ctx.ReenterAfter(ctx.RequestFuture(node, req, timeout), func(res any, err error) {
				if err == nil {
					resp, ok := res.(*messages.TxnOffsetsCompletedResponse)
					switch {
					case !ok:
						err = fmt.Errorf("unexpected reply %T", res)
					case resp.ErrorCode != messages.ErrorCode_NONE:
						err = messages.ErrorForCode(resp.ErrorCode, resp.ErrorMessage)
					}
				}
				done(err)
			})
		})
	})
}

// markerResult reads a WriteTxnMarkerResponse.
func markerResult(res any) error {
	resp, ok := res.(*messages.WriteTxnMarkerResponse)
	if !ok {
		return fmt.Errorf("write marker: unexpected reply %T", res)
	}
	switch resp.ErrorCode {
	case messages.ErrorCode_NONE, messages.ErrorCode_INVALID_PRODUCER_EPOCH:
		return nil
	}
	return messages.ErrorForCode(resp.ErrorCode, resp.ErrorMessage)
}

// leaderOf reads the leader's address and epoch of a partition from a
// MetadataResponse.
func leaderOf(res any, topic string, partition int32) (string, int32, error) {
	resp, ok := res.(*messages.MetadataResponse)
	if !ok {
		return "", 0, fmt.Errorf("find the leader of %s/%d: unexpected reply %T", topic, partition, res)
	}
	for _, t := range resp.Topics {
		if t.Name != topic {
			continue
		}
		if t.ErrorCode == messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION {
			return "", 0, fmt.Errorf("%w: %s", ErrPartitionGone, topic)
		}
		for _, p := range t.Partitions {
			if p.Partition != partition {
				continue
			}
			for _, b := range resp.Brokers {
				if b.NodeId == p.Leader {
					return b.Address, p.LeaderEpoch, nil
				}
			}
			return "", 0, messages.Wrap(messages.ErrorCode_LEADER_NOT_AVAILABLE, "%s/%d has no live leader", topic, partition)
		}
		return "", 0, fmt.Errorf("%w: %s/%d", ErrPartitionGone, topic, partition)
	}
	return "", 0, fmt.Errorf("%w: %s", ErrPartitionGone, topic)
}
