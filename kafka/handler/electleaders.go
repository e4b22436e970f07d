package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// electLeaders runs a preferred (election type 0; v0 knows no other) or
// unclean (1) leader election on the listed partitions, every partition
// when the topic list is null, and answers per partition as Kafka does:
// ELECTION_NOT_NEEDED when the preferred replica already leads,
// PREFERRED_LEADER_NOT_AVAILABLE when it is not live or not in sync,
// ELIGIBLE_LEADERS_NOT_AVAILABLE when an unclean election finds no live
// replica. A partition being reassigned is left to the reassignment
// (REASSIGNMENT_IN_PROGRESS).
func (h *Handler) electLeaders(ctx context.Context, r *kmsg.ElectLeadersRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.ElectLeadersResponse)
	req := &messages.ElectLeadersRequest{}
	switch r.ElectionType {
	case 0:
		req.ElectionType = messages.ElectionType_PREFERRED
	case 1:
		req.ElectionType = messages.ElectionType_UNCLEAN
	default:
		resp.ErrorCode = errInvalidRequest
		return resp
	}
	if r.Topics != nil && len(r.Topics) == 0 {
		return resp // an empty (not null) list names nothing
	}
	for _, t := range r.Topics {
		if len(t.Partitions) == 0 {
			continue // no partitions of this topic named
		}
		req.Topics = append(req.Topics, &messages.ElectLeadersTopic{Topic: t.Topic, Partitions: t.Partitions})
	}
	if r.Topics != nil && len(req.Topics) == 0 {
		return resp
	}
	a, err := ask[*messages.ElectLeadersResponse](ctx, h, req, adminTimeout(r.TimeoutMillis))
	switch {
	case err != nil:
		return electFailed(resp, req, errRequestTimedOut, err.Error())
	case a.ErrorCode != messages.ErrorCode_NONE:
		return electFailed(resp, req, code(a.ErrorCode), a.ErrorMessage)
	}
	byTopic := map[string]int{}
	for _, res := range a.Results {
		i, ok := byTopic[res.Topic]
		if !ok {
			i = len(resp.Topics)
			byTopic[res.Topic] = i
			rt := kmsg.NewElectLeadersResponseTopic()
			rt.Topic = res.Topic
			resp.Topics = append(resp.Topics, rt)
		}
		rp := kmsg.NewElectLeadersResponseTopicPartition()
		rp.Partition = res.Partition
		if res.ErrorCode != messages.ErrorCode_NONE {
			rp.ErrorCode, rp.ErrorMessage = code(res.ErrorCode), strPtr(res.ErrorMessage)
		}
		resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, rp)
	}
	return resp
}

// electFailed answers a request that failed as a whole: in the top-level
// error code from v1, and in every named partition (v0 has no top-level
// code).
func electFailed(resp *kmsg.ElectLeadersResponse, req *messages.ElectLeadersRequest, errCode int16, msg string) kmsg.Response {
	resp.ErrorCode = errCode
	for _, t := range req.Topics {
		rt := kmsg.NewElectLeadersResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewElectLeadersResponseTopicPartition()
			rp.Partition, rp.ErrorCode, rp.ErrorMessage = p, errCode, strPtr(msg)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}
