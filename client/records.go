package client

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/sluice-mq/sluice/messages"
)

// DeleteRecords makes the records of topic/partition below offset
// unreadable, as kafka-delete-records does: the partition's log start
// offset moves to offset (-1: the high watermark) on the leader, and on
// the followers from the leader's next push; segments wholly below it are
// deleted. It returns the new log start offset (Kafka's low watermark).
// An offset past the high watermark fails with ErrOffsetOutOfRange; one
// below the log start changes nothing.
func (c *Client) DeleteRecords(ctx context.Context, topic string, partition int32, offset int64) (int64, error) {
	var res *messages.DeleteRecordsResponse
	err := c.retry(ctx, func(int) error {
		var err error
		res, err = replicaCall[*messages.DeleteRecordsResponse](ctx, c, topic, partition, func(epoch int32) proto.Message {
			return &messages.DeleteRecordsRequest{Topic: topic, Partition: partition, Offset: offset, LeaderEpoch: epoch}
		}, c.cfg.RequestTimeout)
		return err
	})
	if err != nil {
		return -1, fmt.Errorf("delete records of %s/%d before %d: %w", topic, partition, offset, err)
	}
	return res.GetLowWatermark(), nil
}
