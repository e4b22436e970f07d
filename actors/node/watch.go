package node

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
)

// Watch retry backoff after a store or membership error.
const (
	watchBackoffMin = 100 * time.Millisecond
	watchBackoffMax = 5 * time.Second
)

// startWatches runs the metadata and membership watches. Each is a
// goroutine owned by the guardian: it posts what it sees to the actor with
// Root.Send and ends when runCtx is cancelled (Stopping or drain).
func (n *node) startWatches(ctx actor.Context) {
	root, self := ctx.ActorSystem().Root, ctx.Self()
	post := func(msg any) { root.Send(self, msg) }
	index := n.view.Snapshot.Index // read here: the actor owns the view
	n.wg.Add(3)
	go func() {
		defer n.wg.Done()
		n.watchMetadata(n.runCtx, index, post)
	}()
	go func() {
		defer n.wg.Done()
		n.watchMembers(n.runCtx, post)
	}()
	go func() {
		defer n.wg.Done()
		n.watchController(n.runCtx, post)
	}()
}

// watchMetadata hands every new snapshot after index to the guardian.
// Index 0 returns the current snapshot at once, so a node started without
// one gets it first. Snapshots are decoded incrementally (only changed
// keys) and handed over through n.latest: while the guardian is busy,
// newer snapshots replace the one waiting, so a burst of changes (a topic
// of thousands of partitions being written) costs the guardian one apply
// per turn, not one per change, and its mailbox holds at most one.
func (n *node) watchMetadata(ctx context.Context, index uint64, post func(any)) {
	backoff := watchBackoffMin
	problems := retryLog{logger: n.logger, what: "metadata watch"}
	var decoder metadata.Decoder
	for {
		snap, err := decoder.Watch(ctx, n.cfg.Store, index)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			problems.failed(err, backoff)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, watchBackoffMax)
			continue
		}
		backoff = watchBackoffMin
		problems.ok()
		if snap.Index != index || index == 0 {
			index = snap.Index
			if n.latest.put(snap) {
				post(&snapshotReady{})
			}
		}
	}
}

// watchMembers posts the live members on every change.
func (n *node) watchMembers(ctx context.Context, post func(any)) {
	backoff := watchBackoffMin
	problems := retryLog{logger: n.logger, what: "membership watch"}
	var index uint64
	for {
		var members []cluster.Member
		var err error
		if index == 0 {
			members, index, err = n.cfg.Membership.Members(ctx)
		} else {
			members, index, err = n.cfg.Membership.WatchMembers(ctx, index)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			problems.failed(err, backoff)
			index = 0
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, watchBackoffMax)
			continue
		}
		backoff = watchBackoffMin
		problems.ok()
		post(&membersChanged{members: members})
	}
}

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

// snapshotSlot holds the newest snapshot the watch has seen and the
// guardian has not taken yet. It is shared by the watch goroutine and
// the guardian; safe for concurrent use.
type snapshotSlot struct {
	mu      sync.Mutex // guards the following
	snap    metadata.Snapshot
	waiting bool // snap is set and a snapshotReady is on its way
}

// put stores snap, replacing one not yet taken; true means the guardian
// must be told (no snapshotReady is pending).
func (s *snapshotSlot) put(snap metadata.Snapshot) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snap = snap
	notify := !s.waiting
	s.waiting = true
	return notify
}

// take returns the waiting snapshot; false when there is none.
func (s *snapshotSlot) take() (metadata.Snapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.waiting {
		return metadata.Snapshot{}, false
	}
	snap := s.snap
	s.snap, s.waiting = metadata.Snapshot{}, false
	return snap, true
}
