package client

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// heartbeatLoop keeps the membership alive while the consumer holds an
// assignment (also while a rebalance waits for the next Poll: the session
// must not expire meanwhile). What the coordinator answers is turned into
// flags the next Poll acts on. It ends when runCtx does.
func (g *GroupConsumer) heartbeatLoop() {
	defer g.wg.Done()
	ticker := time.NewTicker(g.cfg.HeartbeatInterval)
	defer ticker.Stop()
	for {
		select {
		case <-g.runCtx.Done():
			return
		case <-ticker.C:
		}
		g.mu.Lock()
		joined, memberID, generation, round := g.joined, g.memberID, g.generation, g.round
		g.mu.Unlock()
		if !joined {
			continue
		}
		g.heartbeat(memberID, generation, round)
	}
}

func (g *GroupConsumer) heartbeat(memberID string, generation int32, round uint64) {
	ctx, cancel := context.WithTimeout(g.runCtx, g.cfg.SessionTimeout)
	defer cancel()
	coord, err := g.coordinator(ctx)
	if err != nil {
		g.log.Debug("heartbeat: no coordinator", slog.Any("error", err))
		return
	}
	req := &messages.HeartbeatRequest{GroupId: g.cfg.GroupID, GenerationId: generation, MemberId: memberID, GroupInstanceId: g.cfg.InstanceID}
	_, err = call[*messages.HeartbeatResponse](ctx, g.c, coord, req, min(g.c.cfg.RequestTimeout, g.cfg.SessionTimeout))
	switch code := messages.CodeFor(err); {
	case err == nil:
	case code == messages.ErrorCode_REBALANCE_IN_PROGRESS:
		g.needRejoin(round)
	case code == messages.ErrorCode_UNKNOWN_MEMBER_ID:
		g.resetMembership(true, round)
		g.interrupt()
	case code == messages.ErrorCode_ILLEGAL_GENERATION:
		g.resetMembership(false, round)
		g.interrupt()
	case code == messages.ErrorCode_FENCED_INSTANCE_ID:
		g.mu.Lock()
		g.fatal = fmt.Errorf("%w: group %q instance %q", ErrFenced, g.cfg.GroupID, g.cfg.InstanceID)
		g.mu.Unlock()
		g.interrupt()
	case coordinatorError(err), code == messages.ErrorCode_COORDINATOR_LOAD_IN_PROGRESS:
		g.forgetCoordinator()
		g.log.Debug("heartbeat: coordinator unavailable", slog.Any("error", err))
	default:
		g.log.Warn("heartbeat failed", slog.Any("error", err))
	}
}
