package handler

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// deleteTopics deletes each topic by name; v6 names by topic id are
// answered UNKNOWN_TOPIC_ID (ids are not exposed).
func (h *Handler) deleteTopics(ctx context.Context, r *kmsg.DeleteTopicsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
	timeout := time.Duration(r.TimeoutMillis)*time.Millisecond + slack
	names := r.TopicNames
	if r.Version >= 6 {
		names = nil
		for _, t := range r.Topics {
			if t.Topic == nil {
				rt := kmsg.NewDeleteTopicsResponseTopic()
				rt.TopicID, rt.ErrorCode = t.TopicID, errUnknownTopicID
				resp.Topics = append(resp.Topics, rt)
				continue
			}
			names = append(names, *t.Topic)
		}
	}
	for _, name := range names {
		rt := kmsg.NewDeleteTopicsResponseTopic()
		rt.Topic = strPtr(name)
		a, err := ask[*messages.DeleteTopicResponse](ctx, h, &messages.DeleteTopicRequest{Name: name}, timeout)
		switch {
		case err != nil:
			rt.ErrorCode = errRequestTimedOut
		case a.ErrorCode != messages.ErrorCode_NONE:
			rt.ErrorCode, rt.ErrorMessage = code(a.ErrorCode), strPtr(a.ErrorMessage)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

const errUnknownTopicID int16 = 100
