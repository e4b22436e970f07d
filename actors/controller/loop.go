package controller

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/controller"
)

// loop is the controller's blocking side, run by one goroutine that the
// actor owns; it reports through post and touches no actor state.
type loop struct {
	cfg    Config
	logger *slog.Logger
	post   func(msg any)
}

// run campaigns for the lock and leads while it holds it, until ctx is
// done.
func (l *loop) run(ctx context.Context) {
	retry := newBackoff(l.cfg.RetryMin, l.cfg.RetryMax)
	problems := retryLog{logger: l.logger, what: "controller campaign"}
	for {
		lost, err := l.cfg.Membership.Campaign(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			// The membership is closed or cannot reach Consul yet.
			if !errors.Is(err, cluster.ErrClosed) {
				problems.failed(err, retry.peek())
			}
			if !sleep(ctx, retry.next()) {
				return
			}
			continue
		}
		retry.reset()
		problems.ok()
		l.post(&lockWon{})
		l.lead(ctx, lost)
		l.post(&lockLost{})
	}
}

// lead runs elections until the lock is lost or ctx is done: at once (a
// new controller catches up on what happened without one), after every
// change of the members or the metadata, and every RecheckInterval.
func (l *loop) lead(ctx context.Context, lost <-chan struct{}) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	trigger := make(chan struct{}, 1)
	poke := func() {
		select {
		case trigger <- struct{}{}:
		default: // a pass is already due
		}
	}
	wg.Add(3)
	go func() {
		defer wg.Done()
		select {
		case <-lost:
			cancel()
		case <-ctx.Done():
		}
	}()
	go func() {
		defer wg.Done()
		l.watchMembers(ctx, poke)
	}()
	go func() {
		defer wg.Done()
		l.watchMetadata(ctx, poke)
	}()

	recheck := time.NewTicker(l.cfg.RecheckInterval)
	defer recheck.Stop()
	var balance <-chan time.Time // nil: no automatic leader balance
	if l.cfg.LeaderBalanceInterval > 0 {
		t := time.NewTicker(l.cfg.LeaderBalanceInterval)
		defer t.Stop()
		balance = t.C
	}
	retry := newBackoff(l.cfg.RetryMin, l.cfg.RetryMax)
	problems := retryLog{logger: l.logger, what: "leader election"}
	// The settle clock starts with this controller: an imbalance must
	// last Settle under it before it moves anything.
	var settle controller.BalanceSettle
	for {
		changed, err := l.cfg.Controller.ElectLeaders(ctx)
		if ctx.Err() != nil {
			return
		}
		l.post(&electionDone{changed: changed, err: err})
		if err == nil && l.cfg.ReplicaBalance.MaxMoves > 0 {
			settle = l.balanceReplicas(ctx, settle)
		}
		var again <-chan time.Time
		if err != nil {
			d := retry.next()
			problems.failed(err, d)
			again = time.After(d)
		} else {
			retry.reset()
			problems.ok()
		}
		select {
		case <-ctx.Done(): // lock lost, or the actor stops
			return
		case <-trigger: // members or metadata changed
		case <-recheck.C: // periodic safety net
		case <-again: // the last pass failed
		case <-balance: // leader imbalance check
			l.balance(ctx)
		}
	}
}

// balance moves leaderships back to preferred replicas where a node's
// imbalance is above the threshold (Kafka's auto leader rebalance); the
// election pass that follows it in lead catches anything it left.
func (l *loop) balance(ctx context.Context) {
	moved, err := l.cfg.Controller.BalanceLeaders(ctx, l.cfg.LeaderImbalancePercent)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		l.logger.Warn("leader balance failed; retrying at the next check", "error", err, "interval", l.cfg.LeaderBalanceInterval)
	}
	if len(moved) > 0 {
		l.post(&electionDone{changed: moved, err: err})
	}
}

// balanceReplicas runs one pass of the automatic replica balance: it
// reads the metadata, plans and starts the moves PlanBalance allows, and
// returns the settle state for the next pass. Failures are logged; the
// next pass plans again from the metadata.
func (l *loop) balanceReplicas(ctx context.Context, settle controller.BalanceSettle) controller.BalanceSettle {
	view, err := l.cfg.Controller.LoadBalanceView(ctx)
	if err != nil {
		if ctx.Err() == nil {
			l.logger.Warn("replica balance: read metadata", "error", err)
		}
		return settle
	}
	d, next := controller.PlanBalance(view, settle, time.Now(), l.cfg.ReplicaBalance)
	if len(d.Moves) == 0 && !d.StartRound && !d.EndRound {
		return next
	}
	started, err := l.cfg.Controller.ApplyBalance(ctx, d)
	if d.StartRound {
		l.logger.Info("replica balance: round started", "live", view.Live)
	}
	for _, mv := range started {
		l.logger.Info("replica balance: moving partition", "topic", mv.Topic, "partition", mv.Partition, "from", mv.From, "to", mv.To)
	}
	if d.EndRound && err == nil {
		l.logger.Info("replica balance: round complete")
	}
	if err != nil && ctx.Err() == nil {
		l.logger.Warn("replica balance: carry out the plan", "error", err)
	}
	return next
}

// watchMembers pokes whenever the set of live members changes.
func (l *loop) watchMembers(ctx context.Context, poke func()) {
	retry := newBackoff(l.cfg.RetryMin, l.cfg.RetryMax)
	problems := retryLog{logger: l.logger, what: "controller member watch"}
	var index uint64
	var last []cluster.Member
	for {
		var members []cluster.Member
		var err error
		if index == 0 {
			members, index, err = l.cfg.Membership.Members(ctx)
		} else {
			members, index, err = l.cfg.Membership.WatchMembers(ctx, index)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			problems.failed(err, retry.peek())
			index = 0
			if !sleep(ctx, retry.next()) {
				return
			}
			continue
		}
		retry.reset()
		problems.ok()
		if last != nil && !slices.Equal(last, members) {
			poke()
		}
		last = members
	}
}

// watchMetadata pokes whenever the metadata changes: a partition whose
// state was written after the last pass (a topic created while a replica
// died) is looked at again.
func (l *loop) watchMetadata(ctx context.Context, poke func()) {
	retry := newBackoff(l.cfg.RetryMin, l.cfg.RetryMax)
	problems := retryLog{logger: l.logger, what: "controller metadata watch"}
	var index uint64
	for {
		// The listing is not decoded: only its index matters here (the
		// election pass loads what it needs).
		_, next, err := l.cfg.Store.Watch(ctx, "", index)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			problems.failed(err, retry.peek())
			index = 0
			if !sleep(ctx, retry.next()) {
				return
			}
			continue
		}
		retry.reset()
		problems.ok()
		if index != 0 && next != index {
			poke()
		}
		index = next
	}
}

// retryLog reports a retried operation's failures without flooding the
// log during a long outage: the first failure at warn, repeats at debug,
// the recovery at info.
type retryLog struct {
	logger  *slog.Logger
	what    string
	failing bool
}

func (r *retryLog) failed(err error, retryIn time.Duration) {
	if r.failing {
		r.logger.Debug(r.what+" still failing", "error", err, "retry_in", retryIn)
		return
	}
	r.failing = true
	r.logger.Warn(r.what+" failing; retrying with backoff", "error", err, "retry_in", retryIn)
}

func (r *retryLog) ok() {
	if r.failing {
		r.failing = false
		r.logger.Info(r.what + " recovered")
	}
}

// backoff doubles from min to max.
type backoff struct{ min, max, cur time.Duration }

func newBackoff(min, max time.Duration) *backoff { return &backoff{min: min, max: max, cur: min} }

func (b *backoff) peek() time.Duration { return b.cur }

func (b *backoff) next() time.Duration {
	d := b.cur
	b.cur = min(2*b.cur, b.max)
	return d
}

func (b *backoff) reset() { b.cur = b.min }

// sleep waits d or until ctx is done; false means ctx is done.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
