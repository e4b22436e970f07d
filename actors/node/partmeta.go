package node

import (
	"context"
	"encoding/json"
	"maps"
	"sync"

	"github.com/sluice-mq/sluice/cluster/identity"
	"github.com/sluice-mq/sluice/cluster/metadata"
)

// metaWriter records each hosted replica's topic definition in its
// directory (identity.PartitionFileName), off the guardian's Receive: the
// guardian queues the latest definition per directory (a map, so at most
// one pending write per hosted partition) and one goroutine it owns writes
// them. The file lets an operator rebuild lost metadata from the replicas
// on disk (sluiced --recover-metadata).
type metaWriter struct {
	mu      sync.Mutex
	pending map[string]metadata.Topic // by partition directory
	wake    chan struct{}
}

func newMetaWriter() *metaWriter {
	return &metaWriter{pending: make(map[string]metadata.Topic), wake: make(chan struct{}, 1)}
}

// enqueue asks for t to be recorded in dir; never blocks.
func (w *metaWriter) enqueue(dir string, t metadata.Topic) {
	w.mu.Lock()
	w.pending[dir] = t
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run writes what is queued until ctx ends; failures are logged by logf.
func (w *metaWriter) run(ctx context.Context, logf func(dir string, err error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		}
		w.mu.Lock()
		batch := maps.Clone(w.pending)
		clear(w.pending)
		w.mu.Unlock()
		for dir, t := range batch {
			if ctx.Err() != nil {
				// Stopping: what is left is written again when the
				// replicas are next spawned; a stop does not wait for
				// thousands of writes.
				return
			}
			if err := identity.WritePartition(dir, t); err != nil {
				logf(dir, err)
			}
		}
	}
}

// topicRecord is what a replica's directory records of its topic: the
// definition without the store version.
func topicRecord(t metadata.Topic) (metadata.Topic, string) {
	c := t.Clone()
	c.Version = 0
	b, _ := json.Marshal(c) // a Topic always encodes
	return c, string(b)
}
