package commitlog

import (
	"sync/atomic"
	"time"
)

// DefaultCheckpointInterval is how often a Flusher checkpoints the
// offsets of its logs when no WithCheckpointInterval is given (Kafka's
// log.flush.offset.checkpoint.interval.ms).
const DefaultCheckpointInterval = 60 * time.Second

// FlusherOption tunes a Flusher.
type FlusherOption func(*Flusher)

// WithCheckpointInterval sets how often the Flusher writes the offsets
// checkpoint (recovery point, high watermark, log start) of every log
// that uses it; 0 or less means DefaultCheckpointInterval.
func WithCheckpointInterval(d time.Duration) FlusherOption {
	return func(f *Flusher) {
		if d > 0 {
			f.cpInterval = d
		}
	}
}

// CheckpointStats counts the Flusher's periodic checkpoints.
type CheckpointStats struct {
	// Written counts checkpoint files written, Failed the writes that
	// failed (each fails its log, as any write error does).
	Written, Failed uint64
}

// checkpointCounters are the Flusher's CheckpointStats.
type checkpointCounters struct {
	written, failed atomic.Uint64
}

// CheckpointStats returns the counts of periodic checkpoints so far.
func (f *Flusher) CheckpointStats() CheckpointStats {
	return CheckpointStats{Written: f.cp.written.Load(), Failed: f.cp.failed.Load()}
}

// register adds l to the logs checkpointed periodically (nothing once
// the Flusher is closed).
func (f *Flusher) register(l *Log) {
	f.mu.Lock()
	if !f.closed {
		f.logs[l] = struct{}{}
	}
	f.mu.Unlock()
}

// unregister removes l from the periodic checkpoints.
func (f *Flusher) unregister(l *Log) {
	f.mu.Lock()
	delete(f.logs, l)
	f.mu.Unlock()
}

// runCheckpoints writes the offsets checkpoint of every registered log
// whose offsets moved, once per checkpoint interval, until Close. It runs
// in its own goroutine so checkpoint writes never delay an fsync round.
func (f *Flusher) runCheckpoints() {
	defer close(f.cpDone)
	t := time.NewTicker(f.cpInterval)
	defer t.Stop()
	for {
		select {
		case <-f.quit:
			return
		case <-t.C:
		}
		f.checkpointAll()
	}
}

func (f *Flusher) checkpointAll() {
	f.mu.Lock()
	logs := make([]*Log, 0, len(f.logs))
	for l := range f.logs {
		logs = append(logs, l)
	}
	f.mu.Unlock()
	for _, l := range logs {
		select {
		case <-f.quit:
			return
		default:
		}
		tried, err := l.checkpointIfMoved()
		switch {
		case tried && err != nil:
			f.cp.failed.Add(1) // and the log failed with it
		case tried:
			f.cp.written.Add(1)
		}
		// A failure fails the log, which reports it to its handler.
		_, _ = l.ReleaseIdleFiles()
	}
}

// savedOffsets is what the offsets checkpoint on disk holds.
type savedOffsets struct {
	hw, recoveryPoint, logStart int64
}

// checkpointIfMoved writes the offsets checkpoint if the recovery point,
// high watermark or log start moved since it was last written, and
// reports whether it tried. It holds
// flushMu (not mu) while writing, so appends and reads go on.
func (l *Log) checkpointIfMoved() (bool, error) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.RLock()
	err := l.writableLocked()
	l.mu.RUnlock()
	if err != nil {
		return false, err
	}
	if !l.checkpointMoved() {
		return false, nil
	}
	return true, l.writeCheckpoint()
}
