package replication

import (
	"sync"
	"time"
)

// Throttle is a node-wide byte-rate limit on catch-up replication (Kafka's
// leader.replication.throttled.rate): the pushes a leader sends to a
// follower outside the ISR — a replica a reassignment adds, copying the
// whole log — take from it; pushes to in-sync followers never wait for it,
// so acks=all produces are not slowed by a move.
//
// It is a token bucket holding at most one second of rate, which a push
// may overdraw: a push is allowed while the bucket is not empty and then
// takes its size, so one large push never stalls and the bytes sent over
// any window of length T stay under rate*T plus one second of rate plus
// one push. A Throttle is safe for concurrent use by every replica of the
// node; a nil *Throttle allows everything.
type Throttle struct {
	rate float64 // bytes per second
	now  func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// NewThrottle returns a throttle of bytesPerSecond (nil, no limit, when it
// is 0 or less). now is the clock (nil: time.Now); tests inject theirs.
func NewThrottle(bytesPerSecond int64, now func() time.Time) *Throttle {
	if bytesPerSecond <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	t := &Throttle{rate: float64(bytesPerSecond), now: now}
	t.tokens, t.last = t.rate, now()
	return t
}

// refill adds the tokens earned since the last call. t.mu is held.
func (t *Throttle) refill() {
	now := t.now()
	if d := now.Sub(t.last); d > 0 {
		t.tokens = min(t.rate, t.tokens+d.Seconds()*t.rate)
	}
	t.last = now
}

// Ready reports whether a throttled push may go out now.
func (t *Throttle) Ready() bool {
	if t == nil {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refill()
	return t.tokens > 0
}

// Spend takes the bytes of a throttled push that went out.
func (t *Throttle) Spend(bytes int) {
	if t == nil || bytes <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refill()
	t.tokens -= float64(bytes)
}
