package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// heartbeat forwards Heartbeat to the group's coordinator.
func (h *Handler) heartbeat(ctx context.Context, r *kmsg.HeartbeatRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.HeartbeatResponse)
	a, err := ask[*messages.HeartbeatResponse](ctx, h, &messages.HeartbeatRequest{
		GroupId: r.Group, GenerationId: r.Generation, MemberId: r.MemberID, GroupInstanceId: deref(r.InstanceID),
	}, defaultTimeout)
	if err != nil {
		resp.ErrorCode = errCoordinatorNotAvailable
		return resp
	}
	resp.ErrorCode = code(a.ErrorCode)
	return resp
}
