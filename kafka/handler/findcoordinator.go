package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// findCoordinator names the node coordinating each group or transactional
// id, at its Kafka address; v4+ batches keys.
func (h *Handler) findCoordinator(ctx context.Context, r *kmsg.FindCoordinatorRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
	keys := r.CoordinatorKeys
	if r.Version < 4 {
		keys = []string{r.CoordinatorKey}
	}
	var brokers []*messages.Broker
	if m, err := ask[*messages.MetadataResponse](ctx, h, &messages.MetadataRequest{Topics: []string{noTopic}}, defaultTimeout); err == nil {
		brokers = m.Brokers
	}
	for _, key := range keys {
		c := kmsg.NewFindCoordinatorResponseCoordinator()
		c.Key, c.NodeID, c.Port = key, -1, -1
		h.coordinator(ctx, r.CoordinatorType, key, brokers, &c)
		resp.Coordinators = append(resp.Coordinators, c)
	}
	if r.Version < 4 && len(resp.Coordinators) == 1 {
		c := resp.Coordinators[0]
		resp.ErrorCode, resp.ErrorMessage, resp.NodeID, resp.Host, resp.Port = c.ErrorCode, c.ErrorMessage, c.NodeID, c.Host, c.Port
		resp.Coordinators = nil
	}
	return resp
}

func (h *Handler) coordinator(ctx context.Context, typ int8, key string, brokers []*messages.Broker, c *kmsg.FindCoordinatorResponseCoordinator) {
	var kt messages.CoordinatorKeyType
	switch typ {
	case 0:
		kt = messages.CoordinatorKeyType_GROUP
	case 1:
		kt = messages.CoordinatorKeyType_TRANSACTION
	default:
		c.ErrorCode = errInvalidRequest
		c.ErrorMessage = strPtr("unknown coordinator type")
		return
	}
	a, err := ask[*messages.FindCoordinatorResponse](ctx, h, &messages.FindCoordinatorRequest{GroupId: key, KeyType: kt}, defaultTimeout)
	if err != nil {
		c.ErrorCode = errCoordinatorNotAvailable
		return
	}
	if a.ErrorCode != messages.ErrorCode_NONE {
		c.ErrorCode, c.ErrorMessage = code(a.ErrorCode), strPtr(a.ErrorMessage)
		return
	}
	for _, b := range brokers {
		if b.NodeId == a.NodeId && b.KafkaAddress != "" {
			c.NodeID = a.NodeId
			c.Host, c.Port = splitHostPort(b.KafkaAddress)
			return
		}
	}
	c.ErrorCode = errCoordinatorNotAvailable
	c.ErrorMessage = strPtr("the coordinator has no Kafka listener")
}
