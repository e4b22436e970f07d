package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// offsetFetch reads committed offsets; v8+ batches groups, each asked of
// its own coordinator. No topics (null) asks for every committed offset.
func (h *Handler) offsetFetch(ctx context.Context, r *kmsg.OffsetFetchRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
	if r.Version < 8 {
		topics := make([]*messages.OffsetFetchTopic, 0, len(r.Topics))
		for _, t := range r.Topics {
			topics = append(topics, &messages.OffsetFetchTopic{Name: t.Topic, Partitions: t.Partitions})
		}
		errCode, res := h.fetchOffsets(ctx, r.Group, topics)
		resp.ErrorCode = errCode
		for _, t := range res {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = t.Name
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition, rp.Offset, rp.LeaderEpoch = p.Partition, p.CommittedOffset, p.CommittedLeaderEpoch
				rp.Metadata, rp.ErrorCode = &p.Metadata, code(p.ErrorCode)
				if r.Version <= 1 && errCode != 0 {
					rp.ErrorCode = errCode // no top-level error before v2
				}
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	for _, g := range r.Groups {
		topics := make([]*messages.OffsetFetchTopic, 0, len(g.Topics))
		for _, t := range g.Topics {
			topics = append(topics, &messages.OffsetFetchTopic{Name: t.Topic, Partitions: t.Partitions})
		}
		errCode, res := h.fetchOffsets(ctx, g.Group, topics)
		rg := kmsg.NewOffsetFetchResponseGroup()
		rg.Group, rg.ErrorCode = g.Group, errCode
		for _, t := range res {
			rt := kmsg.NewOffsetFetchResponseGroupTopic()
			rt.Topic = t.Name
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
				rp.Partition, rp.Offset, rp.LeaderEpoch = p.Partition, p.CommittedOffset, p.CommittedLeaderEpoch
				rp.Metadata, rp.ErrorCode = &p.Metadata, code(p.ErrorCode)
				rt.Partitions = append(rt.Partitions, rp)
			}
			rg.Topics = append(rg.Topics, rt)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}

// fetchOffsets asks the coordinator of group; for a failed group every
// requested partition is listed with offset -1.
func (h *Handler) fetchOffsets(ctx context.Context, group string, topics []*messages.OffsetFetchTopic) (int16, []*messages.OffsetFetchTopicResponse) {
	a, err := ask[*messages.OffsetFetchResponse](ctx, h, &messages.OffsetFetchRequest{GroupId: group, Topics: topics}, defaultTimeout)
	errCode := errCoordinatorNotAvailable
	if err == nil {
		errCode = code(a.ErrorCode)
	}
	if errCode == 0 {
		return 0, a.Topics
	}
	var out []*messages.OffsetFetchTopicResponse
	for _, t := range topics {
		rt := &messages.OffsetFetchTopicResponse{Name: t.Name}
		for _, p := range t.Partitions {
			rt.Partitions = append(rt.Partitions, &messages.OffsetFetchPartition{Partition: p, CommittedOffset: -1, CommittedLeaderEpoch: -1})
		}
		out = append(out, rt)
	}
	return errCode, out
}
