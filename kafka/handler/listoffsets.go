package handler

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// listOffsets asks each partition's replica for the offset of a timestamp
// (-1 latest, -2 earliest, -3 max timestamp), all partitions at once.
func (h *Handler) listOffsets(ctx context.Context, r *kmsg.ListOffsetsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
	type sent struct {
		f  actor.Future
		rp *kmsg.ListOffsetsResponseTopicPartition
	}
	var futures []sent
	resp.Topics = make([]kmsg.ListOffsetsResponseTopic, len(r.Topics))
	for i, t := range r.Topics {
		rt := &resp.Topics[i]
		rt.Default()
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.ListOffsetsResponseTopicPartition, len(t.Partitions))
		for j, p := range t.Partitions {
			rp := &rt.Partitions[j]
			rp.Default()
			rp.Partition = p.Partition
			rp.Timestamp, rp.Offset, rp.LeaderEpoch = -1, -1, -1
			epoch := int32(-1)
			if r.Version >= 4 {
				epoch = p.CurrentLeaderEpoch
			}
			msg := &messages.ListOffsetsRequest{Topic: t.Topic, Partition: p.Partition, Timestamp: p.Timestamp,
				LeaderEpoch: epoch, IsolationLevel: int32(r.IsolationLevel)}
			futures = append(futures, sent{f: h.send(msg, defaultTimeout), rp: rp})
		}
	}
	for _, s := range futures {
		if ctx.Err() != nil {
			return resp
		}
		a, err := await[*messages.ListOffsetsResponse](s.f, "list offsets")
		if err != nil {
			h.cfg.Logger.Debug("kafka: list offsets", "error", err)
			s.rp.ErrorCode = errRequestTimedOut
			continue
		}
		s.rp.ErrorCode = code(a.ErrorCode)
		if a.ErrorCode == messages.ErrorCode_NONE {
			s.rp.Offset, s.rp.Timestamp, s.rp.LeaderEpoch = a.Offset, a.Timestamp, a.LeaderEpoch
		}
	}
	return resp
}
