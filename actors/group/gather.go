package group

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/controller"
	"github.com/sluice-mq/sluice/messages"
)

// gather serves a DescribeGroups or DeleteGroups: each named group's actor
// answers for its group (perGroup builds its single-group request), groups
// this node does not coordinate get an error entry, and the combined
// response goes out when every actor answered. The futures continue on
// the guardian with ReenterAfter, so nothing blocks its mailbox.
func (h *Host) gather(ctx actor.Context, view controller.ClusterView, groups []string, perGroup func(string) any) {
	req := ctx.Message()
	results := make([]any, len(groups))
	pending := 0
	finish := func() {
		ctx.Respond(combine(req, groups, results))
	}
	for i, g := range groups {
		p, epoch, err := h.coordinates(view, g)
		var pid *actor.PID
		if err == nil {
			pid, err = h.actorFor(ctx, g, p, epoch)
		}
		if err != nil {
			results[i] = errorResponse(perGroup(g), err)
			continue
		}
		pending++
		f := ctx.RequestFuture(pid, perGroup(g), gatherTimeout)
		ctx.ReenterAfter(f, func(res any, err error) {
			if err != nil {
				res = errorResponse(perGroup(g), messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "group %q: %v", g, err))
			}
			results[i] = res
			pending--
			if pending == 0 {
				finish()
			}
		})
	}
	if pending == 0 {
		finish()
	}
}

// combine merges single-group responses into the response to req.
func combine(req any, groups []string, results []any) any {
	switch req.(type) {
	case *messages.DescribeGroupsRequest:
		resp := &messages.DescribeGroupsResponse{}
		for i, r := range results {
			if d, ok := r.(*messages.DescribeGroupsResponse); ok && len(d.Groups) == 1 {
				resp.Groups = append(resp.Groups, d.Groups[0])
				continue
			}
			resp.Groups = append(resp.Groups, &messages.DescribedGroup{GroupId: groups[i], ErrorCode: messages.ErrorCode_UNKNOWN_SERVER_ERROR})
		}
		return resp
	case *messages.DeleteGroupsRequest:
		resp := &messages.DeleteGroupsResponse{}
		for i, r := range results {
			if d, ok := r.(*messages.DeleteGroupsResponse); ok && len(d.Results) == 1 {
				resp.Results = append(resp.Results, d.Results[0])
				continue
			}
			resp.Results = append(resp.Results, &messages.DeleteGroupResult{GroupId: groups[i], ErrorCode: messages.ErrorCode_UNKNOWN_SERVER_ERROR})
		}
		return resp
	}
	return nil
}
