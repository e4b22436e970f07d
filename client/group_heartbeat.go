package client

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
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
	lastCheck := time.Now()
	for {
		select {
		case <-g.runCtx.Done():
			return
		case <-ticker.C:
		}
		g.mu.Lock()
		joined, memberID, generation, round, counts := g.joined, g.memberID, g.generation, g.round, g.assignedCounts
		g.mu.Unlock()
		if !joined {
			continue
		}
		g.heartbeat(memberID, generation, round)
		if counts != nil && time.Since(lastCheck) >= g.cfg.MetadataMaxAge {
			lastCheck = time.Now()
			if g.partitionsChanged(counts) {
				g.log.Info("subscribed topics changed; rebalancing")
				g.needRejoin(round)
			}
		}
	}
}

// partitionsChanged reports whether fresh metadata gives a subscribed
// topic another partition count than the leader assigned (a topic
// created since counts as changed from zero).
func (g *GroupConsumer) partitionsChanged(counts map[string]int32) bool {
	ctx, cancel := context.WithTimeout(g.runCtx, g.c.cfg.RequestTimeout)
	defer cancel()
	snap, err := g.c.refreshMetadata(ctx)
	if err != nil {
		return false
	}
	topics := slices.Clone(g.cfg.Topics)
	for t := range counts {
		topics = append(topics, t)
	}
	for _, topic := range topics {
		var n int32
		if ts, ok := snap.topics[topic]; ok && ts.info.Err == nil {
			n = int32(len(ts.partitions))
		}
		if n != counts[topic] {
			return true
		}
	}
	return false
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
