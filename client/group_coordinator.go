package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/sluice-mq/sluice/messages"
)

// findCoordinator asks any broker which node coordinates group and
// returns that node's guardian, retrying while __consumer_offsets is being
// created or the coordinator moves.
func (c *Client) findCoordinator(ctx context.Context, group string) (*actor.PID, error) {
	var pid *actor.PID
	err := c.retry(ctx, func(attempt int) error {
		cands := c.metadataCandidates()
		addr := cands[attempt%len(cands)]
		res, err := call[*messages.FindCoordinatorResponse](ctx, c, actor.NewPID(addr, messages.NodeActorID),
			&messages.FindCoordinatorRequest{GroupId: group}, c.cfg.RequestTimeout)
		if errors.Is(err, errNoActor) {
			return fmt.Errorf("%w: %w", messages.ErrorForCode(messages.ErrorCode_NETWORK_EXCEPTION, "node "+addr+" unreachable"), err)
		}
		if err != nil {
			return err
		}
		pid = actor.NewPID(res.GetAddress(), messages.NodeActorID)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find coordinator of group %q: %w", group, err)
	}
	return pid, nil
}

// coordinatorError reports whether err means the request went to a node
// that is not (or not yet) the group's coordinator: look it up again.
func coordinatorError(err error) bool {
	switch messages.CodeFor(err) {
	case messages.ErrorCode_NOT_COORDINATOR, messages.ErrorCode_COORDINATOR_NOT_AVAILABLE,
		messages.ErrorCode_NETWORK_EXCEPTION, messages.ErrorCode_REQUEST_TIMED_OUT:
		return true
	}
	return errors.Is(err, errNoActor)
}

// groupCall sends an admin request about group to its coordinator,
// finding it first and again after coordinator errors, and retries
// retriable failures (COORDINATOR_LOAD_IN_PROGRESS included). check, when
// not nil, turns errors carried inside a response into the request's error.
func groupCall[T response](ctx context.Context, c *Client, group string, req proto.Message, check func(T) error) (T, error) {
	var res T
	var coord *actor.PID
	err := c.retry(ctx, func(int) error {
		if coord == nil {
			var err error
			if coord, err = c.findCoordinator(ctx, group); err != nil {
				return permanent(err)
			}
		}
		var err error
		res, err = call[T](ctx, c, coord, req, c.cfg.RequestTimeout)
		if err == nil && check != nil {
			err = check(res)
		}
		if coordinatorError(err) {
			coord = nil
			if errors.Is(err, errNoActor) {
				err = fmt.Errorf("%w: %w", messages.ErrorForCode(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "coordinator unreachable"), err)
			}
		}
		return err
	})
	return res, err
}
