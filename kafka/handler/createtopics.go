package handler

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// Kafka's num.partitions and default.replication.factor defaults, used for
// -1 in CreateTopics.
const (
	defaultPartitions        = 1
	defaultReplicationFactor = 1
)

// createTopics creates each topic through the controller. Manual replica
// assignments are refused with INVALID_REQUEST.
func (h *Handler) createTopics(ctx context.Context, r *kmsg.CreateTopicsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
	timeout := time.Duration(r.TimeoutMillis)*time.Millisecond + slack
	for _, t := range r.Topics {
		rt := kmsg.NewCreateTopicsResponseTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = t.Topic, -1, -1
		if len(t.ReplicaAssignment) > 0 {
			rt.ErrorCode, rt.ErrorMessage = errInvalidRequest, strPtr("manual replica assignment is not supported")
			resp.Topics = append(resp.Topics, rt)
			continue
		}
		partitions, rf := t.NumPartitions, int32(t.ReplicationFactor)
		if partitions == -1 {
			partitions = defaultPartitions
		}
		if rf == -1 {
			rf = defaultReplicationFactor
		}
		msg := &messages.CreateTopicRequest{Name: t.Topic, Partitions: partitions, ReplicationFactor: rf,
			Configs: map[string]string{}, ValidateOnly: r.ValidateOnly}
		for _, c := range t.Configs {
			if c.Value != nil {
				msg.Configs[c.Name] = *c.Value
			}
		}
		a, err := ask[*messages.CreateTopicResponse](ctx, h, msg, timeout)
		switch {
		case err != nil:
			rt.ErrorCode = errRequestTimedOut
		case a.ErrorCode != messages.ErrorCode_NONE:
			rt.ErrorCode, rt.ErrorMessage = code(a.ErrorCode), strPtr(a.ErrorMessage)
		default:
			rt.NumPartitions, rt.ReplicationFactor = partitions, int16(rf)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
