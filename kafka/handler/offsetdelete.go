package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// offsetDelete deletes a group's committed offsets at its coordinator.
// As in Kafka, partitions the metadata does not know get
// UNKNOWN_TOPIC_OR_PARTITION and are not sent; a group-wide error
// (GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, coordinator errors) is answered
// alone, without partitions.
func (h *Handler) offsetDelete(ctx context.Context, r *kmsg.OffsetDeleteRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.OffsetDeleteResponse)
	names := make([]string, 0, len(r.Topics))
	for _, t := range r.Topics {
		names = append(names, t.Topic)
	}
	known := map[string]int32{}
	if len(names) > 0 {
		m, err := ask[*messages.MetadataResponse](ctx, h, &messages.MetadataRequest{Topics: names}, defaultTimeout)
		if err != nil {
			resp.ErrorCode = errCoordinatorNotAvailable
			return resp
		}
		for _, t := range m.Topics {
			if t.ErrorCode == messages.ErrorCode_NONE {
				known[t.Name] = int32(len(t.Partitions))
			}
		}
	}
	msg := &messages.OffsetDeleteRequest{GroupId: r.Group}
	for _, t := range r.Topics {
		mt := &messages.OffsetFetchTopic{Name: t.Topic}
		for _, p := range t.Partitions {
			if isKnown(known, t.Topic, p.Partition) {
				mt.Partitions = append(mt.Partitions, p.Partition)
			}
		}
		msg.Topics = append(msg.Topics, mt)
	}
	a, err := ask[*messages.OffsetDeleteResponse](ctx, h, msg, defaultTimeout)
	if err != nil {
		h.cfg.Logger.Debug("kafka: offset delete", "error", err)
		resp.ErrorCode = errCoordinatorNotAvailable
		return resp
	}
	if resp.ErrorCode = code(a.ErrorCode); resp.ErrorCode != 0 {
		return resp
	}
	codes := map[string]map[int32]int16{}
	for _, t := range a.Topics {
		m := map[int32]int16{}
		for _, p := range t.Partitions {
			m[p.Partition] = code(p.ErrorCode)
		}
		codes[t.Name] = m
	}
	for _, t := range r.Topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			if !isKnown(known, t.Topic, p.Partition) {
				rp.ErrorCode = errUnknownTopicOrPartition
			} else {
				rp.ErrorCode = codes[t.Topic][p.Partition]
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
