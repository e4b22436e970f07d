package handler

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// deleteGroups deletes empty groups at their coordinators.
func (h *Handler) deleteGroups(ctx context.Context, r *kmsg.DeleteGroupsRequest) kmsg.Response {
	resp := r.ResponseKind().(*kmsg.DeleteGroupsResponse)
	a, err := ask[*messages.DeleteGroupsResponse](ctx, h, &messages.DeleteGroupsRequest{Groups: r.Groups}, defaultTimeout)
	got := map[string]*messages.DeleteGroupResult{}
	if err == nil {
		for _, g := range a.Results {
			got[g.GroupId] = g
		}
	}
	for _, name := range r.Groups {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group = name
		if g, ok := got[name]; ok {
			rg.ErrorCode, rg.ErrorMessage = code(g.ErrorCode), strPtr(g.ErrorMessage)
		} else {
			rg.ErrorCode = errCoordinatorNotAvailable
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return resp
}
