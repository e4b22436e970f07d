package client

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// PartitionProducer is the state a partition's leader keeps for one
// idempotent or transactional producer (Kafka's DescribeProducers).
type PartitionProducer struct {
	ProducerID    int64 `json:"producer_id"`
	ProducerEpoch int16 `json:"producer_epoch"`
	// LastSequence is -1 when no batch of the current epoch is retained.
	LastSequence  int32     `json:"last_sequence"`
	LastTimestamp time.Time `json:"last_timestamp"`
	// CoordinatorEpoch is -1 before the producer's first marker.
	CoordinatorEpoch int32 `json:"coordinator_epoch"`
	// CurrentTxnStartOffset is the first offset of the producer's open
	// transaction in the partition, -1 when none is open.
	CurrentTxnStartOffset int64 `json:"current_txn_start_offset"`
}

// PartitionProducers is a partition's producer state.
type PartitionProducers struct {
	Topic            string              `json:"topic"`
	Partition        int32               `json:"partition"`
	LastStableOffset int64               `json:"last_stable_offset"`
	HighWatermark    int64               `json:"high_watermark"`
	Producers        []PartitionProducer `json:"producers"`
}

// DescribeProducers asks the partition's leader for the producers it
// tracks, with the open transaction of each (what kafka-transactions.sh
// describe-producers shows).
func (c *Client) DescribeProducers(ctx context.Context, topic string, partition int32) (PartitionProducers, error) {
	var res *messages.DescribeProducersResponse
	err := c.retry(ctx, func(int) error {
		p, err := c.partition(ctx, topic, partition)
		if err != nil {
			return err
		}
		res, err = call[*messages.DescribeProducersResponse](ctx, c, p.leader,
			&messages.DescribeProducersRequest{Topic: topic, Partition: partition, LeaderEpoch: p.epoch()}, c.cfg.RequestTimeout)
		return err
	})
	if err != nil {
		return PartitionProducers{}, fmt.Errorf("describe producers of %s/%d: %w", topic, partition, err)
	}
	out := PartitionProducers{Topic: topic, Partition: partition, LastStableOffset: res.GetLastStableOffset(),
		HighWatermark: res.GetHighWatermark(), Producers: []PartitionProducer{}}
	for _, p := range res.GetProducers() {
		out.Producers = append(out.Producers, PartitionProducer{
			ProducerID: p.GetProducerId(), ProducerEpoch: int16(p.GetProducerEpoch()), LastSequence: p.GetLastSequence(),
			LastTimestamp: time.UnixMilli(p.GetLastTimestamp()), CoordinatorEpoch: p.GetCoordinatorEpoch(),
			CurrentTxnStartOffset: p.GetCurrentTxnStartOffset(),
		})
	}
	return out, nil
}

// AbortPartitionTransaction writes an ABORT marker for producerID's open
// transaction in one partition, as kafka-transactions.sh abort does for a
// hanging transaction (one its coordinator no longer knows, which holds
// read_committed consumers at the last stable offset). The epoch and
// coordinator epoch are the producer's as DescribeProducers reports them.
// Aborting a transaction its coordinator still drives loses its records
// in this partition even if it commits.
func (c *Client) AbortPartitionTransaction(ctx context.Context, topic string, partition int32, producerID int64, epoch int16, coordinatorEpoch int32) error {
	err := c.retry(ctx, func(int) error {
		p, err := c.partition(ctx, topic, partition)
		if err != nil {
			return err
		}
		_, err = call[*messages.WriteTxnMarkerResponse](ctx, c, p.leader, &messages.WriteTxnMarkerRequest{
			Topic: topic, Partition: partition, ProducerId: producerID, ProducerEpoch: int32(epoch),
			CoordinatorEpoch: max(coordinatorEpoch, 0), Committed: false, LeaderEpoch: p.epoch(),
			TimeoutMs: int32(c.cfg.RequestTimeout / time.Millisecond),
		}, c.cfg.RequestTimeout)
		return err
	})
	if err != nil {
		return fmt.Errorf("abort the transaction of producer %d in %s/%d: %w", producerID, topic, partition, err)
	}
	return nil
}
