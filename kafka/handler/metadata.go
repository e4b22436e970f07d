package handler

import (
	"context"
	"encoding/hex"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// metadata answers Metadata from the node's cluster view. Brokers are the
// live members with a Kafka listener, at their advertised Kafka address.
// Topics are never created by a Metadata request.
func (h *Handler) metadata(ctx context.Context, r *kmsg.MetadataRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.MetadataResponse)
	req := &messages.MetadataRequest{}
	all := r.Topics == nil || (r.Version == 0 && len(r.Topics) == 0)
	if !all {
		if len(r.Topics) == 0 {
			req.Topics = []string{} // v1+: an empty list asks for no topic
		}
		for _, t := range r.Topics {
			req.Topics = append(req.Topics, deref(t.Topic))
		}
	}
	m, err := h.meta(ctx, req, all)
	if err != nil {
		h.cfg.Logger.Debug("kafka: metadata", "error", err)
		resp.ControllerID = -1
		for _, t := range r.Topics {
			rt := kmsg.NewMetadataResponseTopic()
			rt.Topic, rt.ErrorCode = t.Topic, errUnknownServerError
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	resp.Brokers = kafkaBrokers(m.Brokers)
	resp.ClusterID = strPtr(m.ClusterId)
	resp.ControllerID = m.ControllerId
	for _, t := range m.Topics {
		rt := kmsg.NewMetadataResponseTopic()
		rt.Topic = strPtr(t.Name)
		rt.ErrorCode = code(t.ErrorCode)
		rt.IsInternal = t.Internal
		rt.TopicID = topicID(t.TopicId)
		for _, p := range t.Partitions {
			rp := kmsg.NewMetadataResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = code(p.ErrorCode)
			rp.Leader = p.Leader
			rp.LeaderEpoch = p.LeaderEpoch
			rp.Replicas = p.Replicas
			rp.ISR = p.Isr
			if rp.Replicas == nil {
				rp.Replicas = []int32{}
			}
			if rp.ISR == nil {
				rp.ISR = []int32{}
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// noTopic is a name no topic has: the node answers every topic for an
// empty list, so a request for brokers only names this one and drops it.
const noTopic = ""

// meta asks the node for metadata; with none named and all false it asks
// for no topic.
func (h *Handler) meta(ctx context.Context, req *messages.MetadataRequest, all bool) (*messages.MetadataResponse, error) {
	noTopics := !all && len(req.Topics) == 0
	if noTopics {
		req.Topics = []string{noTopic}
	}
	m, err := ask[*messages.MetadataResponse](ctx, h, req, defaultTimeout)
	if err != nil {
		return nil, err
	}
	if noTopics {
		m.Topics = nil
	}
	return m, nil
}

// kafkaBrokers lists the members with a Kafka address.
func kafkaBrokers(bs []*messages.Broker) []kmsg.MetadataResponseBroker {
	out := make([]kmsg.MetadataResponseBroker, 0, len(bs))
	for _, b := range bs {
		if b.KafkaAddress == "" {
			continue
		}
		host, port := splitHostPort(b.KafkaAddress)
		rb := kmsg.NewMetadataResponseBroker()
		rb.NodeID, rb.Host, rb.Port = b.NodeId, host, port
		out = append(out, rb)
	}
	return out
}

// brokerAddress is the Kafka host and port of node id, from the node's
// cluster view.
func (h *Handler) brokerAddress(ctx context.Context, id int32) (string, int32, bool) {
	m, err := ask[*messages.MetadataResponse](ctx, h, &messages.MetadataRequest{Topics: []string{noTopic}}, defaultTimeout)
	if err != nil {
		return "", 0, false
	}
	for _, b := range m.Brokers {
		if b.NodeId == id && b.KafkaAddress != "" {
			host, port := splitHostPort(b.KafkaAddress)
			return host, port, true
		}
	}
	return "", 0, false
}

// topicID is a topic's id (16 bytes in hex) as Kafka's UUID; all zeros,
// Kafka's "no id", when it does not parse.
func topicID(id string) [16]byte {
	var out [16]byte
	if b, err := hex.DecodeString(id); err == nil && len(b) == len(out) {
		copy(out[:], b)
	}
	return out
}
