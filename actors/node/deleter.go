package node

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sluice-mq/sluice/cluster/metadata"
)

// DefaultFileDeleteDelay is how long a deleted replica's renamed
// directory stays on disk when Config.FileDeleteDelay is 0 (Kafka's
// file.delete.delay.ms).
const DefaultFileDeleteDelay = time.Minute

// deleteSuffix ends the name of a directory marked for removal:
// <topic>-<partition>.<topic id>-delete.
const deleteSuffix = "-delete"

// dirRenamed reports that a deleted replica's directory was renamed
// (or could not be: err), so its partition may be hosted again.
type dirRenamed struct {
	tp  metadata.TopicPartition
	err error
}

// deleter removes deleted replicas' data off the guardian's Receive: a
// directory is first renamed <dir>.<topic id>-delete, then removed after
// the delay, so a mistaken delete can be undone by renaming it back in
// time. Pending work is bounded by the partition directories: at most one
// rename per partition and one removal per renamed directory.
type deleter struct {
	delay time.Duration

	mu      sync.Mutex
	renames map[metadata.TopicPartition]rename
	removes map[string]time.Time // renamed dir → when to remove it
	wake    chan struct{}
}

type rename struct{ dir, topicID string }

func newDeleter(delay time.Duration) *deleter {
	if delay <= 0 {
		delay = DefaultFileDeleteDelay
	}
	return &deleter{
		delay:   delay,
		renames: make(map[metadata.TopicPartition]rename),
		removes: make(map[string]time.Time),
		wake:    make(chan struct{}, 1),
	}
}

// deletedDirName is the name dir gets when its data is deleted.
func deletedDirName(dir, topicID string) string {
	if topicID == "" {
		topicID = "unknown"
	}
	return dir + "." + topicID + deleteSuffix
}

// isDeletedDir reports whether name is a directory marked for removal.
func isDeletedDir(name string) bool {
	base, ok := strings.CutSuffix(name, deleteSuffix)
	return ok && strings.Contains(base, ".")
}

// markDeleted queues the rename of tp's directory; never blocks.
func (d *deleter) markDeleted(tp metadata.TopicPartition, dir, topicID string) {
	d.mu.Lock()
	d.renames[tp] = rename{dir: dir, topicID: topicID}
	d.mu.Unlock()
	d.signal()
}

// removeLater schedules the removal of an already renamed directory
// (found at start: its delay starts over, as in Kafka); never blocks.
func (d *deleter) removeLater(dir string) {
	d.mu.Lock()
	d.removes[dir] = time.Now().Add(d.delay)
	d.mu.Unlock()
	d.signal()
}

func (d *deleter) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// run renames and removes until ctx ends; post reports finished renames
// to the guardian, logf failures. A directory still waiting for its
// removal at shutdown is removed after the next start's delay.
func (d *deleter) run(ctx context.Context, post func(any), logf func(msg, dir string, err error)) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		d.mu.Lock()
		renames := d.renames
		d.renames = make(map[metadata.TopicPartition]rename)
		d.mu.Unlock()
		for tp, r := range renames {
			to := deletedDirName(r.dir, r.topicID)
			err := os.Rename(r.dir, to)
			switch {
			case err == nil:
				d.removeLater(to)
			case errors.Is(err, os.ErrNotExist):
				err = nil // never created
			default:
				logf("mark deleted partition directory", r.dir, err)
			}
			post(&dirRenamed{tp: tp, err: err})
		}
		next := d.removeDue(logf)
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-timer.C:
		}
	}
}

// removeDue removes the directories whose delay passed and returns how
// long until the next one is due.
func (d *deleter) removeDue(logf func(msg, dir string, err error)) time.Duration {
	now := time.Now()
	next := time.Hour
	d.mu.Lock()
	var due []string
	for dir, at := range d.removes {
		if !at.After(now) {
			due = append(due, dir)
			delete(d.removes, dir)
		} else {
			next = min(next, at.Sub(now))
		}
	}
	d.mu.Unlock()
	for _, dir := range due {
		if err := os.RemoveAll(dir); err != nil {
			logf("remove deleted partition directory", dir, err)
		}
	}
	return next
}

// scheduleLeftovers schedules the removal of directories marked deleted
// before a restart.
func (n *node) scheduleLeftovers(entries []os.DirEntry) {
	for _, e := range entries {
		if e.IsDir() && isDeletedDir(e.Name()) {
			dir := filepath.Join(n.cfg.DataDir, e.Name())
			n.logger.Info("removing a deleted partition directory after the delay", "dir", dir, "delay", n.deleter.delay)
			n.deleter.removeLater(dir)
		}
	}
}
