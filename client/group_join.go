package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/group/assign"
	"github.com/sluice-mq/sluice/messages"
)

// roundResult is the outcome of a join round run in the background.
type roundResult struct {
	memberID   string
	generation int32
	assigned   []TopicPartition
	// retry: the round failed in a way that calls for another after a
	// pause; again: another round at once (a new member id, a rebalance
	// that moved on). err: the consumer cannot go on.
	retry, again bool
	err          error
}

// ensureActive (re)joins until the consumer holds an assignment of the
// current generation, handling lost partitions first. A round runs in a
// goroutine: when ctx ends first, Poll returns and the next Poll picks
// the round up where it is, as Kafka's poll does, so a short poll timeout
// never abandons a JoinGroup the coordinator is holding.
func (g *GroupConsumer) ensureActive(ctx context.Context) error {
	for attempt := 0; ; {
		g.mu.Lock()
		fatal, closed := g.fatal, g.closed
		lost, rejoin, joined := g.lost, g.rejoin, g.joined
		g.lost = false
		g.mu.Unlock()
		switch {
		case fatal != nil:
			return fatal
		case closed:
			return ErrClosed
		}
		if lost && len(g.owned) > 0 {
			g.revoke(ctx, g.owned, true)
		}
		if g.pending == nil {
			if joined && !rejoin && !lost {
				return g.positionAssigned(ctx)
			}
			g.startRound(ctx)
		}
		var res roundResult
		select {
		case res = <-g.pending:
			g.pending = nil
		case <-ctx.Done():
			return ctxError(ctx, "joining group "+g.cfg.GroupID)
		}
		switch {
		case res.err != nil:
			return res.err
		case res.retry:
			attempt++
			if err := g.c.sleep(ctx, g.c.cfg.backoff(min(attempt, 5))); err != nil {
				return err
			}
		case res.again:
		default:
			attempt = 0
			if err := g.install(ctx, res.memberID, res.generation, res.assigned); err != nil {
				return err
			}
		}
	}
}

// startRound gives up the partitions the eager protocol requires to give
// up (committing them first with AutoCommit) and starts a JoinGroup +
// SyncGroup round in a goroutine that reports to g.pending.
func (g *GroupConsumer) startRound(ctx context.Context) {
	if !g.cooperative && len(g.owned) > 0 {
		if g.cfg.AutoCommit {
			if err := g.Commit(ctx); err != nil {
				g.log.Warn("commit before rebalance failed", slog.Any("error", err))
			}
		}
		g.revoke(ctx, g.owned, false)
	}
	g.mu.Lock()
	g.joined, g.rejoin = false, false
	g.assignedCounts = nil
	g.round++
	memberID, generation, round := g.memberID, g.generation, g.round
	g.mu.Unlock()
	protocols := g.protocols(generation)
	ch := make(chan roundResult, 1)
	g.pending = ch
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		ch <- g.runRound(g.runCtx, memberID, round, protocols)
	}()
}

// runRound runs one JoinGroup + SyncGroup round under ctx (the consumer's
// life); the rebalance timeout bounds each request.
func (g *GroupConsumer) runRound(ctx context.Context, memberID string, round uint64, protocols []*messages.GroupProtocol) roundResult {
	timeout := g.cfg.RebalanceTimeout + g.c.cfg.RequestTimeout
	coord, err := g.coordinator(ctx)
	if err != nil {
		return g.roundError(ctx, err, round)
	}
	join := &messages.JoinGroupRequest{
		GroupId:            g.cfg.GroupID,
		SessionTimeoutMs:   int32(g.cfg.SessionTimeout.Milliseconds()),
		RebalanceTimeoutMs: int32(g.cfg.RebalanceTimeout.Milliseconds()),
		MemberId:           memberID,
		GroupInstanceId:    g.cfg.InstanceID,
		ProtocolType:       ConsumerProtocolType,
		Protocols:          protocols,
		ClientId:           "sluice",
	}
	res, err := call[*messages.JoinGroupResponse](ctx, g.c, coord, join, timeout)
	if messages.CodeFor(err) == messages.ErrorCode_MEMBER_ID_REQUIRED {
		g.mu.Lock()
		g.memberID = res.GetMemberId()
		g.mu.Unlock()
		return roundResult{again: true}
	}
	if err != nil {
		return g.roundError(ctx, err, round)
	}
	memberID, generation := res.GetMemberId(), res.GetGenerationId()
	g.mu.Lock()
	g.memberID = memberID
	g.mu.Unlock()

	var assignments []*messages.SyncGroupAssignment
	if res.GetLeader() == memberID {
		if assignments, err = g.assign(ctx, res); err != nil {
			return roundResult{err: err}
		}
	}
	sync := &messages.SyncGroupRequest{
		GroupId:         g.cfg.GroupID,
		GenerationId:    generation,
		MemberId:        memberID,
		GroupInstanceId: g.cfg.InstanceID,
		ProtocolType:    ConsumerProtocolType,
		ProtocolName:    res.GetProtocolName(),
		Assignments:     assignments,
	}
	sres, err := call[*messages.SyncGroupResponse](ctx, g.c, coord, sync, timeout)
	if err != nil {
		return g.roundError(ctx, err, round)
	}
	out := roundResult{memberID: memberID, generation: generation}
	if len(sres.GetAssignment()) > 0 {
		a, err := assign.DecodeAssignment(sres.GetAssignment())
		if err != nil {
			return roundResult{err: fmt.Errorf("client: group %q: decode assignment: %w", g.cfg.GroupID, err)}
		}
		out.assigned = topicPartitions(a.Partitions)
	}
	return out
}

// roundError decides what a failed join or sync means.
func (g *GroupConsumer) roundError(ctx context.Context, err error, round uint64) roundResult {
	if ctx.Err() != nil {
		return roundResult{err: ErrClosed}
	}
	switch code := messages.CodeFor(err); {
	case code == messages.ErrorCode_REBALANCE_IN_PROGRESS:
		return roundResult{again: true}
	case code == messages.ErrorCode_UNKNOWN_MEMBER_ID, code == messages.ErrorCode_ILLEGAL_GENERATION:
		g.resetMembership(code == messages.ErrorCode_UNKNOWN_MEMBER_ID, round)
		return roundResult{again: true}
	case code == messages.ErrorCode_FENCED_INSTANCE_ID:
		g.mu.Lock()
		defer g.mu.Unlock()
		g.fatal = fmt.Errorf("%w: group %q instance %q", ErrFenced, g.cfg.GroupID, g.cfg.InstanceID)
		return roundResult{err: g.fatal}
	case coordinatorError(err), code == messages.ErrorCode_COORDINATOR_LOAD_IN_PROGRESS:
		g.forgetCoordinator()
		g.log.Debug("group coordinator unavailable; retrying", slog.Any("error", err))
		return roundResult{retry: true}
	case messages.IsRetriable(err):
		return roundResult{retry: true}
	}
	return roundResult{err: fmt.Errorf("client: join group %q: %w", g.cfg.GroupID, err)}
}

// resetMembership forgets the generation (and the member id on
// UNKNOWN_MEMBER_ID) if the answer saying so belongs to the current
// round; owned partitions are lost.
func (g *GroupConsumer) resetMembership(forgetID bool, round uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if round != g.round {
		return // an answer about an earlier round
	}
	if forgetID {
		g.memberID = ""
	}
	g.generation = -1
	g.joined = false
	g.rejoin = true
	g.lost = true
}

// protocols builds the JoinGroup protocols: one subscription per assignor.
func (g *GroupConsumer) protocols(generation int32) []*messages.GroupProtocol {
	topics := slices.Clone(g.cfg.Topics)
	slices.Sort(topics)
	owned := map[string][]int32{}
	for _, tp := range g.owned {
		owned[tp.Topic] = append(owned[tp.Topic], tp.Partition)
	}
	sub := assign.Subscription{
		Version:         assign.SubscriptionVersion,
		Topics:          topics,
		OwnedPartitions: assign.List(owned),
		Generation:      generation,
	}
	meta := sub.Encode()
	out := make([]*messages.GroupProtocol, 0, len(g.cfg.Assignors))
	for _, name := range g.cfg.Assignors {
		out = append(out, &messages.GroupProtocol{Name: name, Metadata: meta})
	}
	return out
}

// assign runs the chosen assignor on the leader over fresh metadata.
func (g *GroupConsumer) assign(ctx context.Context, res *messages.JoinGroupResponse) ([]*messages.SyncGroupAssignment, error) {
	assignor := assignorByName(res.GetProtocolName())
	if assignor == nil {
		return nil, fmt.Errorf("client: group %q chose unknown assignor %q", g.cfg.GroupID, res.GetProtocolName())
	}
	snap, err := g.c.refreshMetadata(ctx)
	if err != nil {
		snap = g.c.meta.Load()
	}
	var members []assign.Member
	counts := map[string]int32{}
	for _, m := range res.GetMembers() {
		s, err := assign.DecodeSubscription(m.GetMetadata())
		if err != nil {
			g.log.Warn("undecodable subscription; member gets nothing", slog.String("member", m.GetMemberId()), slog.Any("error", err))
			s = &assign.Subscription{Generation: -1}
		}
		members = append(members, assign.MemberFrom(m.GetMemberId(), m.GetGroupInstanceId(), s))
		for _, t := range s.Topics {
			if ts, ok := snap.topics[t]; ok && ts.info.Err == nil {
				counts[t] = int32(len(ts.partitions))
			}
		}
	}
	g.mu.Lock()
	g.assignedCounts = counts
	g.mu.Unlock()
	plan := assignor.Assign(members, counts)
	out := make([]*messages.SyncGroupAssignment, 0, len(plan))
	for id, a := range assign.Encode(plan) {
		out = append(out, &messages.SyncGroupAssignment{MemberId: id, Assignment: a})
	}
	return out, nil
}

// install adopts the assignment of a completed round: revoked partitions
// go first (committed with AutoCommit; with the cooperative protocol that
// calls for another round), then the new ones start at their committed
// offsets.
func (g *GroupConsumer) install(ctx context.Context, memberID string, generation int32, assigned []TopicPartition) error {
	added, revoked := difference(assigned, g.owned), difference(g.owned, assigned)
	g.mu.Lock()
	g.memberID, g.generation, g.joined = memberID, generation, true
	if len(revoked) > 0 {
		// KIP-429: revoked partitions are reassigned in a follow-up round.
		g.rejoin = true
	}
	g.mu.Unlock()
	if len(revoked) > 0 {
		if g.cfg.AutoCommit {
			if err := g.commitPositions(ctx, revoked); err != nil {
				g.log.Warn("commit of revoked partitions failed", slog.Any("error", err))
			}
		}
		g.revoke(ctx, revoked, false)
	}
	if len(added) > 0 {
		// New partitions wait, paused, for their committed offsets, which
		// positionAssigned looks up before Poll fetches.
		g.owned = sortedPartitions(append(slices.Clone(g.owned), added...))
		g.consumer.Assign(g.owned...)
		if err := g.consumer.Pause(added...); err != nil {
			return err
		}
		g.unpositioned = sortedPartitions(append(g.unpositioned, added...))
		if g.cfg.OnAssigned != nil {
			g.cfg.OnAssigned(ctx, added)
		}
	}
	g.log.Debug("group assignment", slog.Int("generation", int(generation)), slog.Int("partitions", len(g.owned)),
		slog.Int("added", len(added)), slog.Int("revoked", len(revoked)))
	return nil
}

// revoke gives up tps: the callback (OnLost when lost), then the consumer
// stops fetching them.
func (g *GroupConsumer) revoke(ctx context.Context, tps []TopicPartition, lost bool) {
	tps = slices.Clone(tps)
	cb := g.cfg.OnRevoked
	if lost {
		cb = g.cfg.OnLost
	}
	if cb != nil {
		cb(ctx, tps)
	}
	g.owned = difference(g.owned, tps)
	g.unpositioned = difference(g.unpositioned, tps)
	g.consumer.Assign(g.owned...)
}

// positionAssigned starts the partitions assigned without a position at
// the group's committed offsets (AutoOffsetReset without one) and resumes
// them. A failure leaves them paused; the next Poll tries again.
func (g *GroupConsumer) positionAssigned(ctx context.Context) error {
	if len(g.unpositioned) == 0 {
		return nil
	}
	// A read_committed member starts only from stable offsets: not while
	// a transaction that commits offsets of its partitions is open
	// (UNSTABLE_OFFSET_COMMIT, tried again on the next Poll).
	committed, err := g.c.fetchCommitted(ctx, g.cfg.GroupID, g.cfg.Consumer.IsolationLevel == ReadCommitted, g.unpositioned)
	if errors.Is(err, messages.ErrUnstableOffsetCommit) {
		return nil // still paused; the next Poll asks again
	}
	if err != nil {
		return err
	}
	for _, tp := range g.unpositioned {
		if o, ok := committed[tp]; ok {
			if err := g.consumer.seekEpoch(tp, o.Offset, o.LeaderEpoch); err != nil {
				return err
			}
		}
	}
	if err := g.consumer.Resume(g.unpositioned...); err != nil {
		return err
	}
	g.unpositioned = nil
	return nil
}

// leave sends LeaveGroup for this member.
func (g *GroupConsumer) leave(ctx context.Context) error {
	g.mu.Lock()
	memberID := g.memberID
	g.memberID, g.generation, g.joined = "", -1, false
	g.mu.Unlock()
	if memberID == "" {
		return nil
	}
	coord, err := g.coordinator(ctx)
	if err != nil {
		return err
	}
	req := &messages.LeaveGroupRequest{GroupId: g.cfg.GroupID, Members: []*messages.LeaveGroupMember{{MemberId: memberID, Reason: "consumer closed"}}}
	if _, err := call[*messages.LeaveGroupResponse](ctx, g.c, coord, req, g.c.cfg.RequestTimeout); err != nil {
		return fmt.Errorf("client: leave group %q: %w", g.cfg.GroupID, err)
	}
	return nil
}

// coordinator returns the group's coordinator, looking it up if unknown.
func (g *GroupConsumer) coordinator(ctx context.Context) (*actor.PID, error) {
	g.mu.Lock()
	coord := g.coord
	g.mu.Unlock()
	if coord != nil {
		return coord, nil
	}
	coord, err := g.c.findCoordinator(ctx, g.cfg.GroupID)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.coord = coord
	g.mu.Unlock()
	return coord, nil
}

func (g *GroupConsumer) forgetCoordinator() {
	g.mu.Lock()
	g.coord = nil
	g.mu.Unlock()
}

// difference returns the partitions of a not in b, sorted.
func difference(a, b []TopicPartition) []TopicPartition {
	var out []TopicPartition
	for _, tp := range a {
		if !slices.Contains(b, tp) {
			out = append(out, tp)
		}
	}
	return sortedPartitions(out)
}

func sortedPartitions(tps []TopicPartition) []TopicPartition {
	slices.SortFunc(tps, compareTopicPartition)
	return slices.Compact(tps)
}
