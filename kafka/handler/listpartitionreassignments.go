package handler

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// listPartitionReassignments lists the reassignments in progress, all of
// them or those of the named partitions (a partition that is not moving
// is left out, as in Kafka). Replicas are the partition's replicas now,
// old and new; adding are the targets not yet in sync, removing the
// replicas that leave at the end.
func (h *Handler) listPartitionReassignments(ctx context.Context, r *kmsg.ListPartitionReassignmentsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	a, err := ask[*messages.ListReassignmentsResponse](ctx, h, &messages.ListReassignmentsRequest{}, adminTimeout(r.TimeoutMillis))
	switch {
	case err != nil:
		resp.ErrorCode, resp.ErrorMessage = errRequestTimedOut, strPtr(err.Error())
		return resp
	case a.ErrorCode != messages.ErrorCode_NONE:
		resp.ErrorCode, resp.ErrorMessage = code(a.ErrorCode), strPtr(a.ErrorMessage)
		return resp
	}
	wanted := func(topic string, partition int32) bool {
		if r.Topics == nil {
			return true
		}
		for _, t := range r.Topics {
			if t.Topic == topic && slices.Contains(t.Partitions, partition) {
				return true
			}
		}
		return false
	}
	byTopic := map[string]int{}
	for _, m := range a.Reassignments {
		if !wanted(m.Topic, m.Partition) {
			continue
		}
		i, ok := byTopic[m.Topic]
		if !ok {
			i = len(resp.Topics)
			byTopic[m.Topic] = i
			rt := kmsg.NewListPartitionReassignmentsResponseTopic()
			rt.Topic = m.Topic
			resp.Topics = append(resp.Topics, rt)
		}
		rp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
		rp.Partition = m.Partition
		rp.Replicas, rp.AddingReplicas, rp.RemovingReplicas = nonNil(m.Replicas), nonNil(m.Adding), nonNil(m.Removing)
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, rp)
	}
	return resp
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}
