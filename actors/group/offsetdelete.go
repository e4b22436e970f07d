package group

import (
	"github.com/asynkron/protoactor-go/actor"

	core "github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/group/assign"
	"github.com/sluice-mq/sluice/messages"
)

// handleOffsetDelete deletes committed offsets as Kafka's OffsetDelete
// does: a group that does not exist is GROUP_ID_NOT_FOUND, a non-empty
// group of another protocol type than consumer NON_EMPTY_GROUP; in a
// non-empty consumer group a partition of a topic a member subscribes to
// (every topic, when a subscription cannot be read) is
// GROUP_SUBSCRIBED_TO_TOPIC and keeps its offset. The other partitions'
// offsets get tombstones in __consumer_offsets and are answered once the
// replica has them; a partition without an offset is answered NONE.
func (c *coordinator) handleOffsetDelete(ctx actor.Context, m *messages.OffsetDeleteRequest) {
	if !c.exists() {
		respondError(ctx, messages.Wrap(messages.ErrorCode_GROUP_ID_NOT_FOUND, "group %q does not exist", c.groupID))
		return
	}
	empty := c.g.State() == core.StateEmpty
	if !empty && c.g.ProtocolType() != assign.ConsumerProtocolType {
		respondError(ctx, messages.Wrap(messages.ErrorCode_NON_EMPTY_GROUP, "group %q of protocol type %q has members", c.groupID, c.g.ProtocolType()))
		return
	}
	subscribed, known := c.g.SubscribedTopics()
	codes := make(map[core.Partition]messages.ErrorCode)
	var records []logRecord
	var doomed []core.Partition
	for _, t := range m.Topics {
		for _, p := range t.Partitions {
			tp := core.Partition{Topic: t.Name, Partition: p}
			switch {
			case !empty && (!known || subscribed[t.Name]):
				codes[tp] = messages.ErrorCode_GROUP_SUBSCRIBED_TO_TOPIC
			default:
				if _, ok := c.offsets[tp]; ok {
					records = append(records, offsetRecord(c.groupID, tp, nil))
					doomed = append(doomed, tp)
				}
			}
		}
	}
	if len(records) == 0 {
		ctx.Respond(offsetDeleteResponse(m, codes, nil))
		return
	}
	inc := c.incarnation
	c.write(ctx, records, func(werr error) {
		if werr == nil && c.current(inc) {
			for _, tp := range doomed {
				delete(c.offsets, tp)
			}
			c.offsetsVersion++
		}
		for _, tp := range doomed {
			codes[tp] = messages.CodeFor(werr)
		}
		ctx.Respond(offsetDeleteResponse(m, codes, nil))
		if werr != nil && c.current(inc) {
			c.failedWrite(ctx, werr)
		}
	})
}

// offsetDeleteResponse answers every partition of m with its code; err,
// when set, failed the whole request.
func offsetDeleteResponse(m *messages.OffsetDeleteRequest, codes map[core.Partition]messages.ErrorCode, err error) *messages.OffsetDeleteResponse {
	resp := &messages.OffsetDeleteResponse{ErrorCode: messages.CodeFor(err), ErrorMessage: errorText(err)}
	if err != nil {
		return resp
	}
	for _, t := range m.Topics {
		tr := &messages.OffsetDeleteTopicResponse{Name: t.Name}
		for _, p := range t.Partitions {
			tr.Partitions = append(tr.Partitions, &messages.OffsetDeletePartition{Partition: p, ErrorCode: codes[core.Partition{Topic: t.Name, Partition: p}]})
		}
		resp.Topics = append(resp.Topics, tr)
	}
	return resp
}
