package handler

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// incrementalAlterConfigs applies SET, DELETE, APPEND and SUBTRACT to each
// topic's configs; APPEND and SUBTRACT work on list configs
// (cleanup.policy) starting from the effective value. Every change of a
// resource is validated together and written at once, or not at all.
func (h *Handler) incrementalAlterConfigs(ctx context.Context, r *kmsg.IncrementalAlterConfigsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, res := range r.Resources {
		rr := kmsg.NewIncrementalAlterConfigsResponseResource()
		rr.ResourceType, rr.ResourceName = res.ResourceType, res.ResourceName
		if res.ResourceType != kmsg.ConfigResourceTypeTopic {
			rr.ErrorCode, rr.ErrorMessage = h.refuseNonTopic(res.ResourceType, res.ResourceName)
			resp.Resources = append(resp.Resources, rr)
			continue
		}
		current, errCode, msg := h.topicOverrides(ctx, res.ResourceName)
		if errCode != 0 {
			rr.ErrorCode, rr.ErrorMessage = errCode, strPtr(msg)
			resp.Resources = append(resp.Resources, rr)
			continue
		}
		req, errCode, text := incrementalChange(res, current, h.cfg.TopicDefaults.Map())
		if errCode != 0 {
			rr.ErrorCode, rr.ErrorMessage = errCode, strPtr(text)
		} else {
			req.ValidateOnly = r.ValidateOnly
			rr.ErrorCode, rr.ErrorMessage = h.alterTopicConfigs(ctx, req)
		}
		resp.Resources = append(resp.Resources, rr)
	}
	return resp
}

// incrementalChange turns one resource's operations into a set/delete
// request over the topic's current overrides; defaults are the node's
// topic defaults, which APPEND and SUBTRACT start from when the topic has
// no override.
func incrementalChange(res kmsg.IncrementalAlterConfigsRequestResource, current, defaults map[string]string) (*messages.AlterConfigsRequest, int16, string) {
	req := &messages.AlterConfigsRequest{Topic: res.ResourceName, Set: map[string]string{}}
	seen := make(map[string]bool, len(res.Configs))
	for _, c := range res.Configs {
		if seen[c.Name] {
			return nil, errInvalidRequest, "Error due to duplicate config keys"
		}
		seen[c.Name] = true
		def, known := configDefs[c.Name]
		if !known {
			return nil, code(messages.ErrorCode_INVALID_CONFIG), fmt.Sprintf("unknown topic config %q", c.Name)
		}
		if c.Value == nil && c.Op != kmsg.IncrementalAlterConfigOpDelete {
			return nil, errInvalidRequest, "Null value not supported for : " + c.Name
		}
		switch c.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			req.Set[c.Name] = *c.Value
		case kmsg.IncrementalAlterConfigOpDelete:
			req.Delete = append(req.Delete, c.Name)
		case kmsg.IncrementalAlterConfigOpAppend, kmsg.IncrementalAlterConfigOpSubtract:
			if def.typ != kmsg.ConfigTypeList {
				return nil, code(messages.ErrorCode_INVALID_CONFIG),
					fmt.Sprintf("Config value append/subtract is not allowed for config key: %s", c.Name)
			}
			value, ok := current[c.Name]
			if !ok {
				value = defaults[c.Name]
			}
			req.Set[c.Name] = applyListOp(value, *c.Value, c.Op == kmsg.IncrementalAlterConfigOpAppend)
		default:
			return nil, errInvalidRequest, fmt.Sprintf("unknown operation %d on config %s", c.Op, c.Name)
		}
	}
	return req, 0, ""
}

// applyListOp appends the items of operand missing from list, or removes
// them from it (comma-separated lists, as Kafka's).
func applyListOp(list, operand string, add bool) string {
	items := splitList(list)
	for _, it := range splitList(operand) {
		has := slices.Contains(items, it)
		switch {
		case add && !has:
			items = append(items, it)
		case !add && has:
			items = slices.DeleteFunc(items, func(s string) bool { return s == it })
		}
	}
	return strings.Join(items, ",")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
