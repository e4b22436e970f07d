package handler

import (
	"context"
	"strconv"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

// describeConfigs answers each resource on its own: a TOPIC with every
// effective config (overrides, then the node's defaults) and a BROKER
// (this node's id, or "" for the defaults) with the node's topic defaults
// under Kafka's broker names. Broker loggers are not configurable.
func (h *Handler) describeConfigs(ctx context.Context, r *kmsg.DescribeConfigsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.DescribeConfigsResponse)
	nodeDefaults, kafkaDefaults := h.cfg.TopicDefaults.Map(), metadata.DefaultTopicConfig().Map()
	for _, res := range r.Resources {
		rr := kmsg.NewDescribeConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = res.ResourceType, res.ResourceName
		switch res.ResourceType {
		case kmsg.ConfigResourceTypeTopic:
			overrides, errCode, msg := h.topicOverrides(ctx, res.ResourceName)
			if errCode != 0 {
				rr.ErrorCode, rr.ErrorMessage = errCode, strPtr(msg)
				break
			}
			names := res.ConfigNames
			if names == nil {
				names = metadata.ConfigNames()
			}
			for _, name := range names {
				if _, known := configDefs[name]; !known {
					continue // Kafka leaves unknown names out
				}
				rr.Configs = append(rr.Configs, configEntry(name, overrides, nodeDefaults, kafkaDefaults,
					r.Version, r.IncludeSynonyms, r.IncludeDocumentation))
			}
		case kmsg.ConfigResourceTypeBroker:
			if errCode, msg := h.checkBrokerResource(res.ResourceName); errCode != 0 {
				rr.ErrorCode, rr.ErrorMessage = errCode, strPtr(msg)
				break
			}
			rr.Configs = brokerEntries(h.cfg.NodeID, nodeDefaults, kafkaDefaults, res.ConfigNames, r.Version, r.IncludeDocumentation)
		default:
			rr.ErrorCode, rr.ErrorMessage = errInvalidRequest, strPtr("unsupported resource type "+res.ResourceType.String())
		}
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}

// topicOverrides returns a topic's config overrides, or the error code
// and message of a topic that cannot be described.
func (h *Handler) topicOverrides(ctx context.Context, topic string) (map[string]string, int16, string) {
	if err := metadata.ValidateTopicName(topic); err != nil {
		return nil, code(messages.ErrorCode_INVALID_TOPIC_EXCEPTION), err.Error()
	}
	a, err := ask[*messages.MetadataResponse](ctx, h, &messages.MetadataRequest{Topics: []string{topic}}, defaultTimeout)
	if err != nil {
		return nil, errRequestTimedOut, err.Error()
	}
	if a.ErrorCode != messages.ErrorCode_NONE {
		return nil, code(a.ErrorCode), a.ErrorMessage
	}
	if len(a.Topics) != 1 || a.Topics[0].ErrorCode == messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION {
		return nil, errUnknownTopicOrPartition, "This server does not host this topic-partition."
	}
	return a.Topics[0].Configs, 0, ""
}

// checkBrokerResource accepts this node's id, or "" (the defaults), as
// the name of a BROKER resource, as Kafka does.
func (h *Handler) checkBrokerResource(name string) (int16, string) {
	if name == "" || name == strconv.Itoa(int(h.cfg.NodeID)) {
		return 0, ""
	}
	return errInvalidRequest, "Unexpected broker id, expected " + strconv.Itoa(int(h.cfg.NodeID)) +
		" or empty string, but received " + name
}
