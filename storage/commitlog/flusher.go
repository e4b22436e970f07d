package commitlog

import (
	"sync"
	"time"
)

// Flusher is the group commit of a node: logs with FlushInterval queue
// themselves after an append, and the Flusher fsyncs every queued log in
// rounds, several logs in parallel, so one fsync per log covers every
// append queued since its previous round. Rounds start at most once per
// interval: an append waits at most the interval (plus the fsync still
// running) before its fsync starts, and right away when the previous round
// started longer than an interval ago, so a lone producer pays for the
// fsync only while a busy node makes at most one round per interval. One
// Flusher is shared by all logs of a node; its goroutines and the
// per-round sync goroutines end by Close.
type Flusher struct {
	interval time.Duration
	wake     chan struct{} // capacity 1: a pending wake-up
	quit     chan struct{}
	done     chan struct{}

	// Periodic offsets checkpoints of every log using the Flusher (see
	// checkpointer.go), in a goroutine of their own.
	cpInterval time.Duration
	cpDone     chan struct{}
	cp         checkpointCounters

	mu      sync.Mutex // guards the fields below
	pending []*Log
	urgent  bool              // a FlushAlways log is pending: no window
	logs    map[*Log]struct{} // open logs using the Flusher
	closed  bool
}

// NewFlusher starts a Flusher whose rounds start at most once per
// interval (0 means DefaultFlushInterval). Every checkpoint interval it
// also writes the offsets checkpoint of each open log using it, so that
// crash recovery starts from a recent recovery point. Close stops it.
func NewFlusher(interval time.Duration, opts ...FlusherOption) *Flusher {
	if interval <= 0 {
		interval = DefaultFlushInterval
	}
	f := &Flusher{
		interval:   interval,
		wake:       make(chan struct{}, 1),
		quit:       make(chan struct{}),
		done:       make(chan struct{}),
		cpInterval: DefaultCheckpointInterval,
		cpDone:     make(chan struct{}),
		logs:       make(map[*Log]struct{}),
	}
	for _, o := range opts {
		o(f)
	}
	go f.run()
	go f.runCheckpoints()
	return f
}

// schedule queues l for the next round; false if the flusher is closed.
func (f *Flusher) schedule(l *Log) bool {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return false
	}
	f.pending = append(f.pending, l)
	if l.cfg.FlushPolicy == FlushAlways {
		f.urgent = true
	}
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
	var lastRound time.Time // start of the previous round
	for {
		select {
		case <-f.quit: // Close: sync what is queued, then stop
			f.flushPending()
			return
		case <-f.wake: // appends are queued
		}
		for wait := time.Until(lastRound.Add(f.interval)); wait > 0 && !f.isUrgent(); wait = time.Until(lastRound.Add(f.interval)) {
			// The window of the previous round is still open: let it fill,
			// unless a FlushAlways log asks for its fsync now.
			timer.Reset(wait)
			select {
			case <-f.quit:
				timer.Stop()
				f.flushPending()
				return
			case <-timer.C: // window over
			case <-f.wake: // more queued: an urgent one ends the window
				timer.Stop()
			}
		}
		lastRound = time.Now()
		f.flushPending()
	}
}

func (f *Flusher) isUrgent() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.urgent
}

// maxConcurrentSyncs bounds the fsyncs one round runs at once: logs
// usually live on one device, which serves parallel fsyncs (and journal
// commits) better than a queue of them, but not without limit.
const maxConcurrentSyncs = 8

// flushPending fsyncs every queued log, up to maxConcurrentSyncs at a
// time, and returns when all are done. A log's fsync failure is reported
// to its own waiters and marks that log failed; other logs go on.
func (f *Flusher) flushPending() {
	f.mu.Lock()
	queued := f.pending
	f.pending, f.urgent = nil, false
	f.mu.Unlock()
	logs := make([]*Log, 0, len(queued))
	seen := make(map[*Log]bool, len(queued))
	for _, l := range queued {
		if !seen[l] {
			seen[l] = true
			logs = append(logs, l)
		}
	}
	if len(logs) == 1 {
		_ = logs[0].syncData() // errors reach the log's waiters and its next append
		return
	}
	sem := make(chan struct{}, maxConcurrentSyncs)
	var wg sync.WaitGroup
	for _, l := range logs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_ = l.syncData() // errors reach the log's waiters and its next append
		}()
	}
	wg.Wait()
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
	f.logs = nil
	f.mu.Unlock()
	close(f.quit)
	<-f.done
	<-f.cpDone
}
