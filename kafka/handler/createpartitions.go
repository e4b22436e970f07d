package handler

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// createPartitions grows topics to a new partition count; manual
// assignments are refused with INVALID_REQUEST.
func (h *Handler) createPartitions(ctx context.Context, r *kmsg.CreatePartitionsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
	timeout := time.Duration(r.TimeoutMillis)*time.Millisecond + slack
	for _, t := range r.Topics {
		rt := kmsg.NewCreatePartitionsResponseTopic()
		rt.Topic = t.Topic
		if len(t.Assignment) > 0 {
			rt.ErrorCode, rt.ErrorMessage = errInvalidRequest, strPtr("manual replica assignment is not supported")
			resp.Topics = append(resp.Topics, rt)
			continue
		}
		a, err := ask[*messages.CreatePartitionsResponse](ctx, h,
			&messages.CreatePartitionsRequest{Topic: t.Topic, TotalCount: t.Count, ValidateOnly: r.ValidateOnly}, timeout)
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
