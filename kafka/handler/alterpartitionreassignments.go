package handler

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// Kafka error codes of reassignments.
const errNoReassignmentInProgress int16 = 85

// alterPartitionReassignments starts moving each listed partition to its
// replica list (answering when the move has started). A null list asks to
// cancel a move: with none in progress that is NO_REASSIGNMENT_IN_PROGRESS,
// as in Kafka; a move in progress cannot be cancelled (it completes) and
// is answered INVALID_REQUEST. A new list for a partition already moving
// is REASSIGNMENT_IN_PROGRESS (Kafka would replace the target).
func (h *Handler) alterPartitionReassignments(ctx context.Context, r *kmsg.AlterPartitionAssignmentsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	timeout := adminTimeout(r.TimeoutMillis)
	var moving map[topicPartition]bool
	for _, t := range r.Topics {
		rt := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			rp.Partition = p.Partition
			if p.Replicas == nil {
				if moving == nil {
					var errCode int16
					moving, errCode = h.movingPartitions(ctx, timeout)
					if errCode != 0 {
						rp.ErrorCode = errCode
						rt.Partitions = append(rt.Partitions, rp)
						continue
					}
				}
				if moving[topicPartition{t.Topic, p.Partition}] {
					rp.ErrorCode, rp.ErrorMessage = errInvalidRequest, strPtr("a reassignment in progress cannot be cancelled; it completes")
				} else {
					rp.ErrorCode, rp.ErrorMessage = errNoReassignmentInProgress, strPtr("no reassignment is in progress for this partition")
				}
				rt.Partitions = append(rt.Partitions, rp)
				continue
			}
			a, err := ask[*messages.ReassignPartitionResponse](ctx, h,
				&messages.ReassignPartitionRequest{Topic: t.Topic, Partition: p.Partition, Replicas: p.Replicas}, timeout)
			switch {
			case err != nil:
				rp.ErrorCode, rp.ErrorMessage = errRequestTimedOut, strPtr(err.Error())
			case a.ErrorCode != messages.ErrorCode_NONE:
				rp.ErrorCode, rp.ErrorMessage = code(a.ErrorCode), strPtr(a.ErrorMessage)
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// movingPartitions is the set of partitions being reassigned.
func (h *Handler) movingPartitions(ctx context.Context, timeout time.Duration) (map[topicPartition]bool, int16) {
	a, err := ask[*messages.ListReassignmentsResponse](ctx, h, &messages.ListReassignmentsRequest{}, timeout)
	switch {
	case err != nil:
		return nil, errRequestTimedOut
	case a.ErrorCode != messages.ErrorCode_NONE:
		return nil, code(a.ErrorCode)
	}
	out := make(map[topicPartition]bool, len(a.Reassignments))
	for _, m := range a.Reassignments {
		out[topicPartition{m.Topic, m.Partition}] = true
	}
	return out, 0
}

// topicPartition is a map key of one partition.
type topicPartition struct {
	topic     string
	partition int32
}
