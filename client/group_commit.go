package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// Commit synchronously commits the positions of the assigned partitions:
// the offsets after the records Poll returned. It fails with
// REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID when the
// group moved on (Kafka's CommitFailedException); the next Poll rejoins.
func (g *GroupConsumer) Commit(ctx context.Context) error {
	return g.commitPositions(ctx, g.owned)
}

func (g *GroupConsumer) commitPositions(ctx context.Context, tps []TopicPartition) error {
	offsets := g.positions(ctx, tps)
	if len(offsets) == 0 {
		return nil
	}
	return g.CommitOffsets(ctx, offsets)
}

// positions returns the positions of tps that were consumed from.
func (g *GroupConsumer) positions(ctx context.Context, tps []TopicPartition) map[TopicPartition]int64 {
	offsets := make(map[TopicPartition]int64, len(tps))
	for _, tp := range tps {
		if slices.Contains(g.unpositioned, tp) {
			continue // not consumed yet: its committed offset stands
		}
		pos, err := g.consumer.Position(ctx, tp)
		if err != nil {
			continue // no position yet: nothing consumed to commit
		}
		offsets[tp] = pos
	}
	return offsets
}

// CommitOffsets commits the given next offsets to consume as this member.
func (g *GroupConsumer) CommitOffsets(ctx context.Context, offsets map[TopicPartition]int64) error {
	g.mu.Lock()
	memberID, generation, joined, round := g.memberID, g.generation, g.joined, g.round
	g.mu.Unlock()
	if !joined {
		return fmt.Errorf("client: commit for group %q: %w", g.cfg.GroupID,
			messages.ErrorForCode(messages.ErrorCode_REBALANCE_IN_PROGRESS, "not a member of a generation"))
	}
	req := withLeaderEpochs(offsetCommitRequest(g.cfg.GroupID, memberID, g.cfg.InstanceID, generation, offsets),
		g.consumer.positionEpochs(offsets))
	err := g.c.retry(ctx, func(int) error {
		coord, err := g.coordinator(ctx)
		if err != nil {
			return permanent(err)
		}
		res, err := call[*messages.OffsetCommitResponse](ctx, g.c, coord, req, g.c.cfg.RequestTimeout)
		if err == nil {
			err = checkCommit(res)
		}
		if coordinatorError(err) {
			g.forgetCoordinator()
		}
		return err
	})
	switch messages.CodeFor(err) {
	case messages.ErrorCode_NONE:
		return nil
	case messages.ErrorCode_REBALANCE_IN_PROGRESS:
		g.needRejoin(round)
	case messages.ErrorCode_UNKNOWN_MEMBER_ID:
		g.resetMembership(true, round)
		g.interrupt()
	case messages.ErrorCode_ILLEGAL_GENERATION:
		g.resetMembership(false, round)
		g.interrupt()
	}
	return fmt.Errorf("client: commit for group %q: %w", g.cfg.GroupID, err)
}

// CommitAsync takes the current positions, as Commit does, and commits
// them in the background; done (which may be nil) gets the outcome, from
// another goroutine.
func (g *GroupConsumer) CommitAsync(done func(map[TopicPartition]int64, error)) {
	offsets := g.positions(g.runCtx, g.owned)
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		if done != nil {
			done(offsets, ErrClosed)
		}
		return
	}
	g.wg.Add(1)
	g.mu.Unlock()
	go func() {
		defer g.wg.Done()
		var err error
		if len(offsets) > 0 {
			err = g.CommitOffsets(g.runCtx, offsets)
		}
		if done != nil {
			done(offsets, err)
		}
	}()
}

// maybeAutoCommit commits when AutoCommit is on and the interval passed.
func (g *GroupConsumer) maybeAutoCommit(ctx context.Context) {
	if !g.cfg.AutoCommit || time.Since(g.lastCommit) < g.cfg.AutoCommitInterval {
		return
	}
	g.lastCommit = time.Now()
	if err := g.Commit(ctx); err != nil && !errors.Is(err, context.Canceled) {
		g.log.Warn("auto-commit failed", slog.Any("error", err))
	}
}

// needRejoin flags a rebalance, if the answer asking for it belongs to the
// current round (a heartbeat sent before the member rejoined must not make
// it rejoin again), and interrupts a waiting Poll.
func (g *GroupConsumer) needRejoin(round uint64) {
	g.mu.Lock()
	current := round == g.round && g.joined
	if current {
		g.rejoin = true
	}
	g.mu.Unlock()
	if current {
		g.interrupt()
	}
}

// interrupt wakes a Poll waiting for records.
func (g *GroupConsumer) interrupt() {
	g.mu.Lock()
	cancel := g.pollCancel
	g.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}
