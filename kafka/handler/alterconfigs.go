package handler

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// alterConfigs replaces each topic's overrides with the listed configs
// (Kafka's non-incremental AlterConfigs: a config left out returns to the
// default). A null value leaves the config out. Broker configs are static.
func (h *Handler) alterConfigs(ctx context.Context, r *kmsg.AlterConfigsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, res := range r.Resources {
		rr := kmsg.NewAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = res.ResourceType, res.ResourceName
		set := make(map[string]string, len(res.Configs))
		seen := make(map[string]bool, len(res.Configs))
		dup := false
		for _, c := range res.Configs {
			dup = dup || seen[c.Name]
			seen[c.Name] = true
			if c.Value != nil {
				set[c.Name] = *c.Value
			}
		}
		switch {
		case dup:
			rr.ErrorCode, rr.ErrorMessage = errInvalidRequest, strPtr("Error due to duplicate config keys")
		case res.ResourceType == kmsg.ConfigResourceTypeTopic:
			current, errCode, msg := h.topicOverrides(ctx, res.ResourceName)
			if errCode != 0 {
				rr.ErrorCode, rr.ErrorMessage = errCode, strPtr(msg)
				break
			}
			var del []string
			for name := range current {
				if _, kept := set[name]; !kept {
					del = append(del, name)
				}
			}
			rr.ErrorCode, rr.ErrorMessage = h.alterTopicConfigs(ctx, &messages.AlterConfigsRequest{
				Topic: res.ResourceName, Set: set, Delete: del, ValidateOnly: r.ValidateOnly})
		default:
			rr.ErrorCode, rr.ErrorMessage = h.refuseNonTopic(res.ResourceType, res.ResourceName)
		}
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}

// alterTopicConfigs sends one topic's change to the controller.
func (h *Handler) alterTopicConfigs(ctx context.Context, req *messages.AlterConfigsRequest) (int16, *string) {
	a, err := ask[*messages.AlterConfigsResponse](ctx, h, req, defaultTimeout+slack)
	switch {
	case err != nil:
		return errRequestTimedOut, strPtr(err.Error())
	case a.ErrorCode != messages.ErrorCode_NONE:
		return code(a.ErrorCode), strPtr(a.ErrorMessage)
	}
	return 0, nil
}

// refuseNonTopic answers a change of a resource other than a topic: a
// node's configs are set in its configuration and cannot be changed at
// run time.
func (h *Handler) refuseNonTopic(typ kmsg.ConfigResourceType, name string) (int16, *string) {
	if typ != kmsg.ConfigResourceTypeBroker {
		return errInvalidRequest, strPtr("unsupported resource type " + typ.String())
	}
	if errCode, msg := h.checkBrokerResource(name); errCode != 0 {
		return errCode, strPtr(msg)
	}
	return errInvalidRequest, strPtr("broker configs cannot be updated dynamically; set them in the node's configuration and restart it")
}

// adminTimeout is a request's own timeout plus slack, or the default.
func adminTimeout(ms int32) time.Duration {
	if ms <= 0 {
		return defaultTimeout
	}
	return time.Duration(ms)*time.Millisecond + slack
}
