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

// ElectionType selects what ElectLeaders does (Kafka's election types).
type ElectionType int8

const (
	// PreferredElection moves leadership to each partition's preferred
	// replica (the first of its replica list) when it is live and in the
	// ISR.
	PreferredElection ElectionType = 0
	// UncleanElection gives a partition with no live leader and no live
	// in-sync replica its first live replica as leader: records only the
	// lost replicas had are gone.
	UncleanElection ElectionType = 1
)

// ElectionResult is the outcome of ElectLeaders for one partition. Err is
// nil when the leader moved; errors.Is(Err, ErrElectionNotNeeded) when
// the preferred replica already led; ErrPreferredLeaderNotAvailable when
// it is not live or not in the ISR.
type ElectionResult struct {
	Topic     string
	Partition int32
	// Leader is the partition's leader after the election (-1: none).
	Leader int32
	Err    error
}

// ElectLeaders runs an election on the partitions of topic (every topic
// when topic is ""), only those listed in partitions when there are any.
func (c *Client) ElectLeaders(ctx context.Context, kind ElectionType, topic string, partitions ...int32) ([]ElectionResult, error) {
	req := &messages.ElectLeadersRequest{ElectionType: messages.ElectionType(kind)}
	if topic != "" {
		req.Topics = []*messages.ElectLeadersTopic{{Topic: topic, Partitions: partitions}}
	}
	res, err := adminCall[*messages.ElectLeadersResponse](ctx, c, req)
	if err != nil {
		return nil, fmt.Errorf("elect leaders: %w", err)
	}
	out := make([]ElectionResult, 0, len(res.GetResults()))
	moved := false
	for _, r := range res.GetResults() {
		out = append(out, ElectionResult{
			Topic: r.GetTopic(), Partition: r.GetPartition(), Leader: r.GetLeader(),
			Err: messages.ErrorForCode(r.GetErrorCode(), r.GetErrorMessage()),
		})
		moved = moved || r.GetErrorCode() == messages.ErrorCode_NONE
	}
	if moved {
		c.invalidate(ctx)
	}
	return out, nil
}

// DecommissionNode records that node leaves the cluster's placement (with
// cancel: that it comes back). The controller then moves the node's
// replicas to the other live nodes, a few at a time; watch
// ListReassignments and the metadata for the progress.
func (c *Client) DecommissionNode(ctx context.Context, node int32, cancel bool) error {
	if _, err := adminCall[*messages.DecommissionNodeResponse](ctx, c, &messages.DecommissionNodeRequest{NodeId: node, Cancel: cancel}); err != nil {
		return fmt.Errorf("decommission node %d: %w", node, err)
	}
	return nil
}
