package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// leaveGroup forwards LeaveGroup; v3+ names several members.
func (h *Handler) leaveGroup(ctx context.Context, r *kmsg.LeaveGroupRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.LeaveGroupResponse)
	msg := &messages.LeaveGroupRequest{GroupId: r.Group}
	if r.Version < 3 {
		msg.Members = []*messages.LeaveGroupMember{{MemberId: r.MemberID}}
	}
	for _, m := range r.Members {
		msg.Members = append(msg.Members, &messages.LeaveGroupMember{MemberId: m.MemberID, GroupInstanceId: deref(m.InstanceID), Reason: deref(m.Reason)})
	}
	a, err := ask[*messages.LeaveGroupResponse](ctx, h, msg, defaultTimeout)
	if err != nil {
		resp.ErrorCode = errCoordinatorNotAvailable
		return resp
	}
	resp.ErrorCode = code(a.ErrorCode)
	if r.Version < 3 {
		if resp.ErrorCode == 0 && len(a.Members) == 1 {
			resp.ErrorCode = code(a.Members[0].ErrorCode)
		}
		return resp
	}
	for _, m := range a.Members {
		rm := kmsg.NewLeaveGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ErrorCode = m.MemberId, strPtr(m.GroupInstanceId), code(m.ErrorCode)
		resp.Members = append(resp.Members, rm)
	}
	return resp
}
