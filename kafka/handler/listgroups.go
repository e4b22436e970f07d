package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// listGroups lists the groups the cluster coordinates (Kafka lists one
// broker's; the node gathers every coordinator's answer).
func (h *Handler) listGroups(ctx context.Context, r *kmsg.ListGroupsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.ListGroupsResponse)
	a, err := ask[*messages.ListGroupsResponse](ctx, h, &messages.ListGroupsRequest{StatesFilter: r.StatesFilter}, defaultTimeout)
	if err != nil {
		resp.ErrorCode = errCoordinatorNotAvailable
		return resp
	}
	resp.ErrorCode = code(a.ErrorCode)
	for _, g := range a.Groups {
		rg := kmsg.NewListGroupsResponseGroup()
		rg.Group, rg.ProtocolType, rg.GroupState, rg.GroupType = g.GroupId, g.ProtocolType, g.GroupState, "classic"
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
