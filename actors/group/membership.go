package group

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	core "github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
)

// handleJoin feeds a JoinGroup to the state machine; the answer usually
// comes out of a later call, when the join phase ends.
func (c *coordinator) handleJoin(ctx actor.Context, m *messages.JoinGroupRequest) {
	req := core.JoinRequest{
		RequestID:        c.hold(ctx, c.joins),
		MemberID:         m.MemberId,
		GroupInstanceID:  m.GroupInstanceId,
		ClientID:         m.ClientId,
		ClientHost:       m.ClientHost,
		SessionTimeout:   time.Duration(m.SessionTimeoutMs) * time.Millisecond,
		RebalanceTimeout: time.Duration(m.RebalanceTimeoutMs) * time.Millisecond,
		ProtocolType:     m.ProtocolType,
		Protocols:        make([]core.Protocol, 0, len(m.Protocols)),
	}
	if req.ClientHost == "" && ctx.Sender() != nil {
		req.ClientHost = ctx.Sender().Address
	}
	for _, p := range m.Protocols {
		req.Protocols = append(req.Protocols, core.Protocol{Name: p.Name, Metadata: p.Metadata})
	}
	c.apply(ctx, c.g.Join(c.cfg.Now(), req))
}

func (c *coordinator) handleSync(ctx actor.Context, m *messages.SyncGroupRequest) {
	req := core.SyncRequest{
		RequestID:       c.hold(ctx, c.syncs),
		MemberID:        m.MemberId,
		GroupInstanceID: m.GroupInstanceId,
		Generation:      m.GenerationId,
		ProtocolType:    m.ProtocolType,
		ProtocolName:    m.ProtocolName,
	}
	if len(m.Assignments) > 0 {
		req.Assignments = make(map[string][]byte, len(m.Assignments))
		for _, a := range m.Assignments {
			req.Assignments[a.MemberId] = a.Assignment
		}
	}
	c.apply(ctx, c.g.Sync(c.cfg.Now(), req))
}

func (c *coordinator) handleHeartbeat(ctx actor.Context, m *messages.HeartbeatRequest) {
	err := c.g.Heartbeat(c.cfg.Now(), core.HeartbeatRequest{
		MemberID:        m.MemberId,
		GroupInstanceID: m.GroupInstanceId,
		Generation:      m.GenerationId,
	})
	ctx.Respond(&messages.HeartbeatResponse{ErrorCode: messages.CodeFor(err), ErrorMessage: errorText(err)})
}

func (c *coordinator) handleLeave(ctx actor.Context, m *messages.LeaveGroupRequest) {
	leaving := make([]core.LeaveMember, len(m.Members))
	for i, lm := range m.Members {
		leaving[i] = core.LeaveMember{MemberID: lm.MemberId, GroupInstanceID: lm.GroupInstanceId}
		if lm.Reason != "" {
			c.logger.Debug("member leaving", "member", lm.MemberId, "reason", lm.Reason)
		}
	}
	errs, fx := c.g.Leave(c.cfg.Now(), leaving)
	resp := &messages.LeaveGroupResponse{Members: make([]*messages.LeaveGroupMemberResponse, len(errs))}
	for i, err := range errs {
		resp.Members[i] = &messages.LeaveGroupMemberResponse{
			MemberId:        m.Members[i].MemberId,
			GroupInstanceId: m.Members[i].GroupInstanceId,
			ErrorCode:       messages.CodeFor(err),
		}
	}
	// A single-member leave (LeaveGroup before v3) reports its outcome at
	// the top level too.
	if len(errs) == 1 && errs[0] != nil {
		resp.ErrorCode, resp.ErrorMessage = messages.CodeFor(errs[0]), errs[0].Error()
	}
	ctx.Respond(resp)
	c.apply(ctx, fx)
}

// joinResponse converts the state machine's answer to the wire.
func joinResponse(r core.JoinResponse) *messages.JoinGroupResponse {
	resp := &messages.JoinGroupResponse{
		ErrorCode:    messages.CodeFor(r.Err),
		ErrorMessage: errorText(r.Err),
		GenerationId: r.Generation,
		ProtocolType: r.ProtocolType,
		ProtocolName: r.ProtocolName,
		Leader:       r.LeaderID,
		MemberId:     r.MemberID,
	}
	for _, m := range r.Members {
		resp.Members = append(resp.Members, &messages.JoinGroupMember{MemberId: m.MemberID, GroupInstanceId: m.GroupInstanceID, Metadata: m.Metadata})
	}
	return resp
}

func joinError(err error) *messages.JoinGroupResponse {
	return &messages.JoinGroupResponse{ErrorCode: messages.CodeFor(err), ErrorMessage: errorText(err), GenerationId: -1}
}

func syncResponse(r core.SyncResponse) *messages.SyncGroupResponse {
	return &messages.SyncGroupResponse{
		ErrorCode:    messages.CodeFor(r.Err),
		ErrorMessage: errorText(r.Err),
		ProtocolType: r.ProtocolType,
		ProtocolName: r.ProtocolName,
		Assignment:   r.Assignment,
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
