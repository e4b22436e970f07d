package handler

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// offsetForLeaderEpoch asks each partition's leader where an epoch ends
// in its log (a consumer validating its position after a leader change),
// all partitions at once. The current leader epoch (v2+) fences a stale
// client (FENCED_LEADER_EPOCH) or tells one ahead of the leader to retry
// (UNKNOWN_LEADER_EPOCH); an epoch above the leader's latest answers
// epoch -1 at offset -1, as Kafka does.
func (h *Handler) offsetForLeaderEpoch(ctx context.Context, r *kmsg.OffsetForLeaderEpochRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	type sent struct {
		f  actor.Future
		rp *kmsg.OffsetForLeaderEpochResponseTopicPartition
	}
	var futures []sent
	resp.Topics = make([]kmsg.OffsetForLeaderEpochResponseTopic, len(r.Topics))
	for i, t := range r.Topics {
		rt := &resp.Topics[i]
		rt.Default()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.OffsetForLeaderEpochResponseTopicPartition, len(t.Partitions))
		for j, p := range t.Partitions {
			rp := &rt.Partitions[j]
			rp.Default()
			rp.Partition, rp.LeaderEpoch, rp.EndOffset = p.Partition, -1, -1
			current := int32(-1)
			if r.Version >= 2 {
				current = p.CurrentLeaderEpoch
			}
			msg := &messages.OffsetsForLeaderEpochRequest{Topic: t.Topic, Partition: p.Partition,
				LeaderEpoch: current, RequestedEpoch: p.LeaderEpoch, ReplicaId: -1}
			futures = append(futures, sent{f: h.send(msg, defaultTimeout), rp: rp})
		}
	}
	for _, s := range futures {
		if ctx.Err() != nil {
			return resp
		}
		a, err := await[*messages.OffsetsForLeaderEpochResponse](s.f, "offset for leader epoch")
		if err != nil {
			h.cfg.Logger.Debug("kafka: offset for leader epoch", "error", err)
			s.rp.ErrorCode = errRequestTimedOut
			continue
		}
		s.rp.ErrorCode = code(a.ErrorCode)
		if a.ErrorCode == messages.ErrorCode_NONE {
			s.rp.LeaderEpoch, s.rp.EndOffset = a.LeaderEpoch, a.EndOffset
		}
	}
	return resp
}
