package client

import (
	"context"
	"fmt"

	"github.com/sluice-mq/sluice/messages"
)

// Reassignment is a partition reassignment in progress.
type Reassignment struct {
	Topic     string
	Partition int32
	// Target is the replica list the partition moves to.
	Target []int32
	// Replicas lists the old and new replicas while the move is under way.
	Replicas []int32
	// Adding lists target replicas not yet in the ISR; Removing the
	// replicas that leave when the move completes.
	Adding, Removing []int32
	ISR              []int32
	Leader           int32
}

// ReassignPartition starts moving a partition to replicas (the first is the
// preferred leader). It returns once the move has started; the cluster
// completes it when every new replica has caught up (ListReassignments
// shows the progress).
func (c *Client) ReassignPartition(ctx context.Context, topic string, partition int32, replicas []int32) error {
	_, err := adminCall[*messages.ReassignPartitionResponse](ctx, c, &messages.ReassignPartitionRequest{
		Topic: topic, Partition: partition, Replicas: replicas,
	})
	if err != nil {
		return fmt.Errorf("reassign %s/%d: %w", topic, partition, err)
	}
	c.invalidate(ctx)
	return nil
}

// ListReassignments returns the partition reassignments in progress.
func (c *Client) ListReassignments(ctx context.Context) ([]Reassignment, error) {
	res, err := adminCall[*messages.ListReassignmentsResponse](ctx, c, &messages.ListReassignmentsRequest{})
	if err != nil {
		return nil, fmt.Errorf("list reassignments: %w", err)
	}
	out := make([]Reassignment, 0, len(res.GetReassignments()))
	for _, r := range res.GetReassignments() {
		out = append(out, Reassignment{
			Topic: r.GetTopic(), Partition: r.GetPartition(), Target: r.GetTarget(),
			Replicas: r.GetReplicas(), Adding: r.GetAdding(), Removing: r.GetRemoving(),
			ISR: r.GetIsr(), Leader: r.GetLeader(),
		})
	}
	return out, nil
}
