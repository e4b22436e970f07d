package commitlog

import (
	"sync"
	"time"
)

// Flusher is the group commit of a node: logs with FlushInterval queue
// themselves after an append, and one goroutine fsyncs every queued log
// at the end of a window of Interval, so one fsync per log covers every
// append of the window. One Flusher is shared by all logs of a node.
type Flusher struct {
	interval time.Duration
	wake     chan struct{} // capacity 1: a pending wake-up
	quit     chan struct{}
	done     chan struct{}

	mu      sync.Mutex // guards the fields below
	pending []*Log
	closed  bool
}

// NewFlusher starts a Flusher with the given window (0 means
// DefaultFlushInterval). Close stops it.
func NewFlusher(interval time.Duration) *Flusher {
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	f := &Flusher{
		interval: interval,
		wake:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go f.run()
	return f
}

// schedule queues l for the next window; false if the flusher is closed.
func (f *Flusher) schedule(l *Log) bool {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return false
	}
	f.pending = append(f.pending, l)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
	return true
}

func (f *Flusher) run() {
	defer close(f.done)
	timer := time.NewTimer(f.interval)
	timer.Stop()
	for {
		select {
		case <-f.quit: // Close: sync what is queued, then stop
			f.flushPending()
			return
		case <-f.wake: // first append of a window: let the window fill
		}
		timer.Reset(f.interval)
		select {
		case <-f.quit:
			timer.Stop()
			f.flushPending()
			return
		case <-timer.C: // window over
		}
		f.flushPending()
	}
}

// flushPending fsyncs every queued log. A log's fsync failure is reported
// to its own waiters and marks that log failed; other logs go on.
func (f *Flusher) flushPending() {
	f.mu.Lock()
	logs := f.pending
	f.pending = nil
	f.mu.Unlock()
	for _, l := range logs {
		_ = l.syncData() // errors reach the log's waiters and its next append
	}
}

// Close syncs the logs still queued and stops the goroutine. Logs that
// still use the Flusher afterwards fall back to syncing on Flush and
// Close.
func (f *Flusher) Close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	f.mu.Unlock()
	close(f.quit)
	<-f.done
}
