package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// offsetCommit forwards OffsetCommit to the group's coordinator. v0 and a
// generation of -1 are commits from outside the group protocol.
func (h *Handler) offsetCommit(ctx context.Context, r *kmsg.OffsetCommitRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
	msg := &messages.OffsetCommitRequest{GroupId: r.Group, GenerationId: r.Generation, MemberId: r.MemberID, GroupInstanceId: deref(r.InstanceID)}
	if r.Version == 0 {
		msg.GenerationId = -1
	}
	for _, t := range r.Topics {
		mt := &messages.OffsetCommitTopic{Name: t.Topic}
		for _, p := range t.Partitions {
			epoch := int32(-1)
			if r.Version >= 6 {
				epoch = p.LeaderEpoch
			}
			mt.Partitions = append(mt.Partitions, &messages.OffsetCommitPartition{
				Partition: p.Partition, CommittedOffset: p.Offset, CommittedLeaderEpoch: epoch, Metadata: deref(p.Metadata),
			})
		}
		msg.Topics = append(msg.Topics, mt)
	}
	a, err := ask[*messages.OffsetCommitResponse](ctx, h, msg, defaultTimeout)
	codes := map[string]map[int32]int16{}
	whole := int16(0)
	if err != nil {
		whole = errCoordinatorNotAvailable
	} else {
		whole = code(a.ErrorCode)
		for _, t := range a.Topics {
			m := map[int32]int16{}
			for _, p := range t.Partitions {
				m[p.Partition] = code(p.ErrorCode)
			}
			codes[t.Name] = m
		}
	}
	for _, t := range r.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = whole
			if c, ok := codes[t.Topic][p.Partition]; ok && whole == 0 {
				rp.ErrorCode = c
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
