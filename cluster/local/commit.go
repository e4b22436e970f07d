package local

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/sluice-mq/sluice/cluster"
)

// Writes are group-committed: a writer queues its operation and, when no
// commit is running, becomes the committer. The committer takes the whole
// queue, applies it to a copy of the key space, persists the copy once (one
// file write and fsync for the batch) and only then publishes it, so readers
// never see a change that is not durable. It repeats until the queue is
// empty, then wakes Close if it waits. Writers that queued meanwhile wait for
// their operation's done channel.

type opKind int

const (
	opCAS opKind = iota
	opDelete
	opDeleteTree
	opPut // write whatever the key's version
)

// writeOp is one queued write. The committer sets result and err, then
// closes done.
type writeOp struct {
	kind    opKind
	key     string // the key, or the prefix of opDeleteTree
	value   []byte
	version uint64

	result uint64
	err    error
	done   chan struct{}
}

// submit queues op and returns when it is committed or refused. Once queued
// the write completes whatever ctx does, so its outcome is never unknown.
func (s *Store) submit(ctx context.Context, op *writeOp) error {
	return s.submitAll(ctx, []*writeOp{op})
}

// submitAll queues ops under one lock, so one commit takes them all, and
// returns the first error once all are committed or refused.
func (s *Store) submitAll(ctx context.Context, ops []*writeOp) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, op := range ops {
		op.done = make(chan struct{})
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return cluster.ErrClosed
	}
	s.queue = append(s.queue, ops...)
	lead := !s.committing
	s.committing = true
	s.mu.Unlock()
	if lead {
		s.commitQueued()
	}
	var err error
	for _, op := range ops {
		<-op.done
		if err == nil {
			err = op.err
		}
	}
	return err
}

// commitQueued commits batches until the queue is empty.
func (s *Store) commitQueued() {
	for {
		s.mu.Lock()
		ops := s.queue
		s.queue = nil
		if len(ops) == 0 {
			s.committing = false
			s.idle.Broadcast()
			s.mu.Unlock()
			return
		}
		next := maps.Clone(s.entries)
		index := s.index
		deleted := make(map[string]uint64)
		for _, op := range ops {
			applyOp(next, &index, deleted, op)
		}
		changed := index != s.index
		s.mu.Unlock()

		var err error
		if changed {
			err = s.persist(next, index)
		}

		s.mu.Lock()
		if changed && err == nil {
			s.entries = next
			for k, i := range deleted {
				s.tombstones[k] = i
			}
			s.commitLocked(index)
		}
		s.mu.Unlock()
		for _, op := range ops {
			if op.err == nil && err != nil {
				op.result, op.err = 0, err
			}
			close(op.done)
		}
	}
}

// applyOp checks op against entries and applies it, advancing index by one
// for a change. A failed check sets op.err and changes nothing.
func applyOp(entries map[string]entry, index *uint64, deleted map[string]uint64, op *writeOp) {
	old, exists := entries[op.key]
	switch op.kind {
	case opCAS:
		switch {
		case op.version == 0 && exists:
			op.err = fmt.Errorf("create %q: exists at version %d: %w", op.key, old.version, cluster.ErrVersionMismatch)
		case op.version != 0 && !exists:
			op.err = fmt.Errorf("update %q at version %d: key missing: %w", op.key, op.version, cluster.ErrVersionMismatch)
		case op.version != 0 && old.version != op.version:
			op.err = fmt.Errorf("update %q at version %d: current version %d: %w", op.key, op.version, old.version, cluster.ErrVersionMismatch)
		default:
			*index++
			entries[op.key] = entry{value: op.value, version: *index}
			op.result = *index
		}
	case opPut:
		*index++
		entries[op.key] = entry{value: op.value, version: *index}
		op.result = *index
	case opDelete:
		switch {
		case !exists && op.version == 0:
			// Nothing to delete.
		case !exists:
			op.err = fmt.Errorf("delete %q at version %d: key missing: %w", op.key, op.version, cluster.ErrVersionMismatch)
		case op.version != 0 && old.version != op.version:
			op.err = fmt.Errorf("delete %q at version %d: current version %d: %w", op.key, op.version, old.version, cluster.ErrVersionMismatch)
		default:
			*index++
			delete(entries, op.key)
			deleted[op.key] = *index
		}
	case opDeleteTree:
		var keys []string
		for k := range entries {
			if strings.HasPrefix(k, op.key) {
				keys = append(keys, k)
			}
		}
		if len(keys) == 0 {
			return
		}
		*index++
		for _, k := range keys {
			delete(entries, k)
			deleted[k] = *index
		}
	}
}
