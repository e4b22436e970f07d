package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// describeGroups asks each group's coordinator.
func (h *Handler) describeGroups(ctx context.Context, r *kmsg.DescribeGroupsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.DescribeGroupsResponse)
	a, err := ask[*messages.DescribeGroupsResponse](ctx, h, &messages.DescribeGroupsRequest{Groups: r.Groups}, defaultTimeout)
	got := map[string]*messages.DescribedGroup{}
	if err == nil {
		for _, g := range a.Groups {
			got[g.GroupId] = g
		}
	}
	for _, name := range r.Groups {
		rg := kmsg.NewDescribeGroupsResponseGroup()
		rg.Group = name
		g, ok := got[name]
		if !ok {
			rg.ErrorCode = errCoordinatorNotAvailable
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		rg.ErrorCode, rg.ErrorMessage = code(g.ErrorCode), strPtr(g.ErrorMessage)
		rg.State, rg.ProtocolType, rg.Protocol = g.GroupState, g.ProtocolType, g.ProtocolData
		for _, m := range g.Members {
			rm := kmsg.NewDescribeGroupsResponseGroupMember()
			rm.MemberID, rm.InstanceID, rm.ClientID, rm.ClientHost = m.MemberId, strPtr(m.GroupInstanceId), m.ClientId, m.ClientHost
			rm.ProtocolMetadata, rm.MemberAssignment = m.MemberMetadata, m.MemberAssignment
			rg.Members = append(rg.Members, rm)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
