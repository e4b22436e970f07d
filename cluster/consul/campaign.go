package consul

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/sluice-mq/sluice/cluster"
)

// Campaign blocks until this node's session holds the controller key (its
// value is this node's id), or ctx is done, or the membership stops. While
// another session holds the key it waits on a blocking query; a key just
// freed by an ended session is retried until its lock-delay passes.
//
// The returned channel is closed when the lock is lost: the key changed
// hands or vanished (the session ended, the agent lost its state), Consul
// has not confirmed the ownership for CheckTTL (the session may have ended
// with its check), or Leave or the Join context stopped the membership.
// Campaign again to compete for the lock anew. Fence the work done as
// controller (leader epochs, CAS on metadata): a lost lock can be noticed
// only after another node has taken it.
func (m *Membership) Campaign(ctx context.Context) (<-chan struct{}, error) {
	m.mu.Lock()
	joined, left, running, self := m.joined, m.left, m.running, m.self
	m.mu.Unlock()
	switch {
	case left:
		return nil, cluster.ErrClosed
	case !joined:
		return nil, ErrNotJoined
	}
	// cctx ends with the caller's context or with the membership.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(running, cancel)
	defer stop()
	stopped := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return cluster.ErrClosed
	}

	key := m.conn.cfg.Prefix + controllerKey
	value := []byte(strconv.Itoa(int(self.NodeID)))
	heartbeat := m.conn.cfg.CheckTTL / 3
	retry := heartbeat / 4
	backoff := func() {
		sleep(cctx, retry)
		retry = min(2*retry, maxRetryInterval, heartbeat)
	}
	for {
		session, err := m.waitSession(cctx)
		if err != nil {
			return nil, stopped()
		}
		acquired, err := m.acquire(cctx, key, value, session)
		if cctx.Err() != nil {
			return nil, stopped()
		}
		if err != nil {
			// Consul is down, or the session just ended and the keeper
			// has not replaced it yet.
			backoff()
			continue
		}
		read := time.Now()
		pair, index, err := m.conn.get(cctx, key)
		switch {
		case cctx.Err() != nil:
			return nil, stopped()
		case err != nil:
			backoff()
		case acquired && pair != nil && pair.Session == session:
			if lost, ok := m.startLockWatch(running, key, session, index, read); ok {
				return lost, nil
			}
			return nil, stopped()
		case pair != nil && pair.Session != "" && pair.Session != session:
			// Held by another node: wait until the key changes.
			if _, _, err := m.conn.blockingGet(cctx, key, index, m.conn.cfg.WaitTime); err != nil {
				backoff()
			}
		default:
			// Free, but the lock-delay of the session that held it has
			// not passed yet.
			sleep(cctx, lockDelayPoll(m.conn.cfg.LockDelay))
		}
	}
}

// Controller returns the node id stored in the controller key while a
// session holds it, else -1. It needs no Join.
func (m *Membership) Controller(ctx context.Context) (int32, error) {
	pair, _, err := m.conn.get(ctx, m.conn.cfg.Prefix+controllerKey)
	if err != nil {
		return -1, err
	}
	if pair == nil || pair.Session == "" {
		return -1, nil
	}
	id, err := strconv.ParseInt(string(pair.Value), 10, 32)
	if err != nil {
		return -1, fmt.Errorf("consul: controller key holds %q: %w", pair.Value, err)
	}
	return int32(id), nil
}

// waitSession returns the keeper's current session, waiting while there is
// none.
func (m *Membership) waitSession(ctx context.Context) (string, error) {
	for {
		m.mu.Lock()
		session, changed := m.session, m.sessionChanged
		m.mu.Unlock()
		if session != "" {
			return session, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-changed:
		}
	}
}

func (m *Membership) acquire(ctx context.Context, key string, value []byte, session string) (bool, error) {
	var acquired bool
	err := m.conn.do(ctx, "acquire "+key, m.conn.cfg.Timeout, func(ctx context.Context) error {
		var err error
		acquired, _, err = m.conn.client.KV().Acquire(&api.KVPair{Key: key, Value: value, Session: session},
			(&api.WriteOptions{}).WithContext(ctx))
		return err
	})
	return acquired, err
}

// release releases the controller key if session holds it; Consul ignores
// the release otherwise.
func (m *Membership) release(ctx context.Context, session string) error {
	key := m.conn.cfg.Prefix + controllerKey
	return m.conn.do(ctx, "release "+key, m.conn.cfg.Timeout, func(ctx context.Context) error {
		_, _, err := m.conn.client.KV().Release(&api.KVPair{Key: key, Session: session}, (&api.WriteOptions{}).WithContext(ctx))
		return err
	})
}

// startLockWatch starts the goroutine that closes lost when session no
// longer holds key. It fails when the membership is stopping: Leave is
// waiting for the goroutines and no new one may start.
func (m *Membership) startLockWatch(running context.Context, key, session string, index uint64, confirmed time.Time) (<-chan struct{}, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.left || running.Err() != nil {
		return nil, false
	}
	lost := make(chan struct{})
	m.wg.Add(1)
	go m.watchLock(running, key, session, index, confirmed, lost)
	return lost, true
}

// watchLock follows key with short blocking queries and closes lost when
// session no longer holds it, when running is done, or when ownership has
// not been confirmed for CheckTTL: by then the session may have ended with
// its check (an agent that stopped answering cannot keep it alive either),
// and another node may be about to take the lock. confirmed is when the
// read that last saw session holding the key was sent.
func (m *Membership) watchLock(running context.Context, key, session string, index uint64, confirmed time.Time, lost chan struct{}) {
	defer m.wg.Done()
	defer close(lost)
	ttl := m.conn.cfg.CheckTTL
	// A quarter of the TTL (plus Consul's jitter of up to 1/16): an idle
	// key is confirmed again well before the deadline of the previous
	// confirmation cuts the query short.
	wait := min(ttl/4, m.conn.cfg.WaitTime)
	retry := ttl / 12
	for {
		deadline := confirmed.Add(ttl)
		if !time.Now().Before(deadline) {
			return
		}
		ctx, cancel := context.WithDeadline(running, deadline)
		sent := time.Now()
		pair, next, err := m.conn.blockingGet(ctx, key, index, wait)
		cancel()
		switch {
		case running.Err() != nil:
			return
		case err != nil:
			// The agent may come back empty; start over with a plain read.
			index = 0
			sleep(running, retry)
			continue
		case pair == nil || pair.Session != session:
			return
		}
		confirmed = sent
		if next < index {
			next = 0 // the index went back: read afresh
		}
		index = next
	}
}

// lockDelayPoll is how often a key in its lock-delay is retried.
func lockDelayPoll(lockDelay time.Duration) time.Duration {
	return max(lockDelay/4, 50*time.Millisecond)
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
