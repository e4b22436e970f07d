package group

import (
	"github.com/asynkron/protoactor-go/actor"

	core "github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
)

// exists reports whether the group is more than a name: it has members,
// a generation or committed offsets. Kafka describes any other group as
// Dead and refuses to delete it with GROUP_ID_NOT_FOUND.
func (c *coordinator) exists() bool {
	return c.g.Size() > 0 || c.g.Generation() > 0 || c.g.State() != core.StateEmpty || len(c.offsets) > 0 ||
		c.pending.Producers() > 0
}

// handleDescribe answers a DescribeGroups naming this group (the Host
// splits requests by group).
func (c *coordinator) handleDescribe(ctx actor.Context) {
	ctx.Respond(&messages.DescribeGroupsResponse{Groups: []*messages.DescribedGroup{c.describe()}})
}

func (c *coordinator) describe() *messages.DescribedGroup {
	if !c.exists() {
		return &messages.DescribedGroup{GroupId: c.groupID, GroupState: core.StateDead.String()}
	}
	d := c.g.Describe()
	out := &messages.DescribedGroup{
		GroupId:      c.groupID,
		GroupState:   d.State.String(),
		ProtocolType: d.ProtocolType,
		ProtocolData: d.Protocol,
		GenerationId: d.Generation,
		Leader:       d.Leader,
	}
	for _, m := range d.Members {
		out.Members = append(out.Members, &messages.DescribedGroupMember{
			MemberId:         m.MemberID,
			GroupInstanceId:  m.GroupInstanceID,
			ClientId:         m.ClientID,
			ClientHost:       m.ClientHost,
			MemberMetadata:   m.Metadata,
			MemberAssignment: m.Assignment,
		})
	}
	return out
}

// handleDelete deletes an Empty group: its metadata and every committed
// offset are tombstoned, and the answer goes out once that is written.
func (c *coordinator) handleDelete(ctx actor.Context) {
	if !c.exists() {
		ctx.Respond(deleteResponse(c.groupID, messages.Wrap(messages.ErrorCode_GROUP_ID_NOT_FOUND, "group %q does not exist", c.groupID)))
		return
	}
	if c.g.State() != core.StateEmpty {
		ctx.Respond(deleteResponse(c.groupID, messages.Wrap(messages.ErrorCode_NON_EMPTY_GROUP, "group %q has %d members", c.groupID, c.g.Size())))
		return
	}
	now := c.cfg.Now()
	if _, err := c.g.Delete(now); err != nil {
		ctx.Respond(deleteResponse(c.groupID, err))
		return
	}
	records := []logRecord{groupRecord(c.groupID, nil)}
	for tp := range c.offsets {
		records = append(records, offsetRecord(c.groupID, tp, nil))
	}
	inc := c.incarnation
	c.write(ctx, records, func(err error) {
		ctx.Respond(deleteResponse(c.groupID, err))
		if !c.current(inc) {
			return
		}
		if err != nil {
			// The group is Dead in memory but maybe not in the log: read
			// the log again to find out.
			c.failedWrite(ctx, err)
			if c.loaded {
				c.startLoad(ctx)
			}
			return
		}
		c.g = c.newGroup()
		c.offsets = make(map[core.Partition]core.OffsetValue)
		c.offsetsVersion++
		c.schedule(ctx, c.g.Deadline())
	})
}

func deleteResponse(groupID string, err error) *messages.DeleteGroupsResponse {
	return &messages.DeleteGroupsResponse{Results: []*messages.DeleteGroupResult{{
		GroupId:      groupID,
		ErrorCode:    messages.CodeFor(err),
		ErrorMessage: errorText(err),
	}}}
}

// respondError answers the current request with its paired response
// carrying err.
func respondError(ctx actor.Context, err error) {
	if ctx.Sender() == nil {
		return
	}
	if r := errorResponse(ctx.Message(), err); r != nil {
		ctx.Respond(r)
	}
}

// errorResponse builds the response paired with a group request, carrying
// err; nil for other messages.
func errorResponse(req any, err error) any {
	code, text := messages.CodeFor(err), err.Error()
	switch m := req.(type) {
	case *messages.FindCoordinatorRequest:
		return &messages.FindCoordinatorResponse{ErrorCode: code, ErrorMessage: text, NodeId: -1}
	case *messages.JoinGroupRequest:
		return &messages.JoinGroupResponse{ErrorCode: code, ErrorMessage: text, GenerationId: -1, MemberId: m.MemberId}
	case *messages.SyncGroupRequest:
		return &messages.SyncGroupResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.HeartbeatRequest:
		return &messages.HeartbeatResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.LeaveGroupRequest:
		resp := &messages.LeaveGroupResponse{ErrorCode: code, ErrorMessage: text}
		for _, lm := range m.Members {
			resp.Members = append(resp.Members, &messages.LeaveGroupMemberResponse{MemberId: lm.MemberId, GroupInstanceId: lm.GroupInstanceId, ErrorCode: code})
		}
		return resp
	case *messages.OffsetCommitRequest:
		codes := make(map[core.Partition]messages.ErrorCode)
		for _, t := range m.Topics {
			for _, p := range t.Partitions {
				codes[core.Partition{Topic: t.Name, Partition: p.Partition}] = code
			}
		}
		return commitResponse(m, codes, err)
	case *messages.OffsetFetchRequest:
		return &messages.OffsetFetchResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.OffsetDeleteRequest:
		return offsetDeleteResponse(m, nil, err)
	case *messages.TxnOffsetCommitRequest:
		return txnCommitResponse(m, nil, err)
	case *txnCompleted, *messages.TxnOffsetsCompletedRequest:
		return &messages.TxnOffsetsCompletedResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.ListGroupsRequest:
		return &messages.ListGroupsResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.DescribeGroupsRequest:
		resp := &messages.DescribeGroupsResponse{ErrorCode: code, ErrorMessage: text}
		for _, g := range m.Groups {
			resp.Groups = append(resp.Groups, &messages.DescribedGroup{ErrorCode: code, ErrorMessage: text, GroupId: g})
		}
		return resp
	case *messages.DeleteGroupsRequest:
		resp := &messages.DeleteGroupsResponse{ErrorCode: code, ErrorMessage: text}
		for _, g := range m.Groups {
			resp.Results = append(resp.Results, &messages.DeleteGroupResult{GroupId: g, ErrorCode: code, ErrorMessage: text})
		}
		return resp
	}
	return nil
}
