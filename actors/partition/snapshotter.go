package partition

import (
	"log/slog"
	"sync"

	"github.com/sluice-mq/sluice/storage/producerstate"
)

// snapshotter writes a replica's producer state snapshots in a goroutine,
// so the actor never waits for their fsyncs. At most one write runs; a
// snapshot queued meanwhile replaces one still waiting (the newer covers
// more of the log). The goroutine exists only while there is work; drain
// stops it.
type snapshotter struct {
	dir    string
	logger *slog.Logger
	// before runs ahead of each write: state the snapshot covers must be
	// durable first (the aborted-transaction index).
	before func() error

	mu      sync.Mutex
	pending *snapshotJob
	done    chan struct{} // closed when the running writer exits; nil: none runs
}

type snapshotJob struct {
	offset  int64
	entries []producerstate.Entry
}

func newSnapshotter(dir string, logger *slog.Logger, before func() error) *snapshotter {
	return &snapshotter{dir: dir, logger: logger, before: before}
}

// queue schedules the snapshot of entries at offset.
func (s *snapshotter) queue(offset int64, entries []producerstate.Entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = &snapshotJob{offset: offset, entries: entries}
	if s.done == nil {
		s.done = make(chan struct{})
		go s.run(s.done)
	}
}

func (s *snapshotter) run(done chan struct{}) {
	defer close(done)
	for {
		s.mu.Lock()
		job := s.pending
		s.pending = nil
		if job == nil {
			s.done = nil
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		if err := s.before(); err != nil {
			s.logger.Warn("producer state snapshot not written", "offset", job.offset, "error", err)
			continue
		}
		if err := producerstate.WriteSnapshot(nil, s.dir, job.offset, job.entries); err != nil {
			// A missing snapshot only lengthens the next recovery.
			s.logger.Warn("write producer state snapshot", "offset", job.offset, "error", err)
		}
	}
}

// drain drops a snapshot still waiting and waits for the one being
// written: before the log is cut, restarted or closed.
func (s *snapshotter) drain() {
	s.mu.Lock()
	s.pending = nil
	done := s.done
	s.mu.Unlock()
	if done != nil {
		<-done
	}
}
