package handler

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// joinGroup forwards JoinGroup to the group's coordinator, which answers
// once the rebalance completes (up to the rebalance timeout). A new member
// at v0-v3 is joined with the id the coordinator assigns (KIP-394's
// MEMBER_ID_REQUIRED round trip is v4+).
func (h *Handler) joinGroup(ctx context.Context, r *kmsg.JoinGroupRequest, clientID string) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.JoinGroupResponse)
	resp.Generation = -1
	rebalance := r.RebalanceTimeoutMillis
	if r.Version == 0 {
		rebalance = r.SessionTimeoutMillis
	}
	msg := &messages.JoinGroupRequest{
		GroupId: r.Group, SessionTimeoutMs: r.SessionTimeoutMillis, RebalanceTimeoutMs: rebalance,
		MemberId: r.MemberID, GroupInstanceId: deref(r.InstanceID), ProtocolType: r.ProtocolType, ClientId: clientID,
	}
	for _, p := range r.Protocols {
		msg.Protocols = append(msg.Protocols, &messages.GroupProtocol{Name: p.Name, Metadata: p.Metadata})
	}
	timeout := time.Duration(rebalance)*time.Millisecond + slack
	a, err := ask[*messages.JoinGroupResponse](ctx, h, msg, timeout)
	if err == nil && r.Version < 4 && a.ErrorCode == messages.ErrorCode_MEMBER_ID_REQUIRED {
		// Before v4 a client cannot take MEMBER_ID_REQUIRED: the
		// coordinator's assigned id joins at once, as Kafka does.
		msg.MemberId = a.MemberId
		a, err = ask[*messages.JoinGroupResponse](ctx, h, msg, timeout)
	}
	if err != nil {
		resp.ErrorCode = errCoordinatorNotAvailable
		return resp
	}
	resp.ErrorCode = code(a.ErrorCode)
	resp.MemberID = a.MemberId
	if a.ErrorCode != messages.ErrorCode_NONE {
		return resp
	}
	resp.Generation = a.GenerationId
	resp.ProtocolType = strPtr(a.ProtocolType)
	resp.Protocol = strPtr(a.ProtocolName)
	resp.LeaderID = a.Leader
	for _, m := range a.Members {
		rm := kmsg.NewJoinGroupResponseMember()
		rm.MemberID, rm.InstanceID, rm.ProtocolMetadata = m.MemberId, strPtr(m.GroupInstanceId), m.Metadata
		resp.Members = append(resp.Members, rm)
	}
	return resp
}
