package client

import (
	"container/heap"
	"sync"
	"time"
)

// Linger timers. Go's timers are late by up to a millisecond when the
// process is idle: the runtime then waits for the next timer in
// epoll_wait, whose timeout is in whole milliseconds (a delay under 1 ms
// becomes 1 ms; golang/go#53824). A 1 ms linger measured 1.48 ms at p50
// and 2 ms at p99 from a batch's first record to its seal
// (docs/benchmarks.md, "Produce latency by stage"). So the producer's
// linger timers run on a lingerClock: one alarm per producer, armed for
// the earliest deadline, whose expiry wakes the runtime's poller at
// once. On Linux the alarm is a timerfd read through the poller
// (linger_linux.go); elsewhere, or when the timerfd cannot be made, the
// timers are plain time.AfterFunc timers.

// armLinger starts the linger timer for pb's open batch. Called with p.mu
// held.
func (pb *partitionBuffer) armLinger(p *Producer, d time.Duration) {
	pb.armed = pb.open.seq
	if pb.linger == nil {
		if p.clock == nil {
			pb.linger = time.AfterFunc(d, func() { p.lingerExpired(pb) })
			return
		}
		pb.linger = p.clock.afterFunc(func() { p.lingerExpired(pb) })
	}
	pb.linger.Reset(d)
}

// lingerExpired seals pb's open batch if it is the one the timer was
// armed for: a timer going off after its batch was sealed (full, or by
// Flush) leaves the next batch alone.
func (p *Producer) lingerExpired(pb *partitionBuffer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pb.open != nil && pb.open.seq == pb.armed {
		p.seal(pb)
	}
}

// lingerTimer is the part of *time.Timer the producer uses.
type lingerTimer interface {
	Reset(d time.Duration) bool
	Stop() bool
}

// alarm wakes a goroutine at a set time, to the microsecond.
type alarm interface {
	// set arms the alarm to go off in d (> 0), replacing any earlier
	// setting.
	set(d time.Duration) error
	// wait blocks until the alarm goes off; it fails once the alarm is
	// closed.
	wait() error
	close() error
}

// newSystemAlarm makes the platform's precise alarm; nil where there is
// none (set by linger_linux.go).
var newSystemAlarm func() (alarm, error)

// lingerClock runs callbacks at their deadlines with an alarm: the heap
// of pending timers, the alarm set for the earliest, and the goroutine
// that waits for it and runs the callbacks due.
type lingerClock struct {
	alarm alarm
	done  chan struct{} // closed when the run goroutine has ended

	mu sync.Mutex // guards the following; taken after Producer.mu
	// timers holds the scheduled timers by deadline.
	timers lingerHeap
	// armed is the deadline the alarm is set for (zero: none). Invariant:
	// armed is zero or no later than the earliest timer's deadline.
	armed time.Time
}

// newLingerClock starts a clock on the platform's alarm; nil when there
// is none, and the caller uses time.AfterFunc.
func newLingerClock() *lingerClock {
	if newSystemAlarm == nil {
		return nil
	}
	a, err := newSystemAlarm()
	if err != nil {
		return nil
	}
	c := &lingerClock{alarm: a, done: make(chan struct{})}
	go c.run()
	return c
}

// afterFunc returns a timer that runs f on the clock's goroutine d after
// it is reset; it starts stopped. f must not call the clock.
func (c *lingerClock) afterFunc(f func()) lingerTimer {
	return &clockTimer{c: c, f: f, index: -1}
}

// close stops the clock: timers still pending never fire. It waits for
// the goroutine to end.
func (c *lingerClock) close() {
	_ = c.alarm.close() // a failure to close leaves nothing to undo
	<-c.done
}

func (c *lingerClock) run() {
	defer close(c.done)
	var due []func()
	for {
		if err := c.alarm.wait(); err != nil {
			return // closed
		}
		c.mu.Lock()
		c.armed = time.Time{}
		now := time.Now()
		for len(c.timers) > 0 && !c.timers[0].when.After(now) {
			t := heap.Pop(&c.timers).(*clockTimer)
			due = append(due, t.f)
		}
		err := c.arm()
		c.mu.Unlock()
		for i, f := range due {
			f()
			due[i] = nil
		}
		due = due[:0]
		if err != nil {
			return // the alarm broke: pending timers never fire
		}
	}
}

// arm sets the alarm for the earliest timer unless it is set early
// enough already. Called with c.mu held.
func (c *lingerClock) arm() error {
	if len(c.timers) == 0 {
		return nil
	}
	when := c.timers[0].when
	if !c.armed.IsZero() && !c.armed.After(when) {
		return nil
	}
	if err := c.alarm.set(max(time.Until(when), time.Microsecond)); err != nil {
		return err
	}
	c.armed = when
	return nil
}

// clockTimer is one lingerTimer of a lingerClock.
type clockTimer struct {
	c *lingerClock
	f func()
	// Guarded by c.mu: the deadline, and the index in c.timers (-1: not
	// scheduled).
	when  time.Time
	index int
}

// Reset schedules the timer d from now; it reports whether it was
// scheduled before.
func (t *clockTimer) Reset(d time.Duration) bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	was := t.index >= 0
	if was {
		heap.Remove(&c.timers, t.index)
	}
	t.when = time.Now().Add(d)
	heap.Push(&c.timers, t)
	if err := c.arm(); err != nil {
		// The alarm is broken: fall back to a runtime timer for this one.
		heap.Remove(&c.timers, t.index)
		time.AfterFunc(d, t.f)
	}
	return was
}

// Stop unschedules the timer; it reports whether it was scheduled. The
// alarm stays set: going off with nothing due is harmless.
func (t *clockTimer) Stop() bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&c.timers, t.index)
	return true
}

// lingerHeap orders scheduled timers by deadline (container/heap).
type lingerHeap []*clockTimer

func (h lingerHeap) Len() int           { return len(h) }
func (h lingerHeap) Less(i, j int) bool { return h[i].when.Before(h[j].when) }
func (h lingerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *lingerHeap) Push(x any) {
	t := x.(*clockTimer)
	t.index = len(*h)
	*h = append(*h, t)
}

func (h *lingerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
