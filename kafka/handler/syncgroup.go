package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// syncGroup forwards SyncGroup; a follower's answer waits for the leader's
// assignment.
func (h *Handler) syncGroup(ctx context.Context, r *kmsg.SyncGroupRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.SyncGroupResponse)
	msg := &messages.SyncGroupRequest{
		GroupId: r.Group, GenerationId: r.Generation, MemberId: r.MemberID, GroupInstanceId: deref(r.InstanceID),
		ProtocolType: deref(r.ProtocolType), ProtocolName: deref(r.Protocol),
	}
	for _, a := range r.GroupAssignment {
		msg.Assignments = append(msg.Assignments, &messages.SyncGroupAssignment{MemberId: a.MemberID, Assignment: a.MemberAssignment})
	}
	a, err := ask[*messages.SyncGroupResponse](ctx, h, msg, defaultTimeout)
	if err != nil {
		resp.ErrorCode = errCoordinatorNotAvailable
		return resp
	}
	resp.ErrorCode = code(a.ErrorCode)
	resp.ProtocolType, resp.Protocol = strPtr(a.ProtocolType), strPtr(a.ProtocolName)
	resp.MemberAssignment = a.Assignment
	if resp.MemberAssignment == nil {
		resp.MemberAssignment = []byte{}
	}
	return resp
}
