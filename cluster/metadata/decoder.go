package metadata

import (
	"context"
	"fmt"
	"sync"

	"github.com/sluice-mq/sluice/cluster"
)

// Decoder loads and watches snapshots like Load and WatchSnapshot, but
// decodes only the topics and partition states whose store version
// changed since its previous snapshot; the others are shared with it.
// A watch on a store with thousands of partitions then costs a listing
// per change, not thousands of JSON decodes.
//
// Snapshots are read-only: a Decoder's snapshots share topics (their
// replica and config slices) and states with each other.
//
// The zero Decoder is ready; it is safe for concurrent use.
type Decoder struct {
	mu sync.Mutex // guards the following
	// topics and states are by store key, as the last snapshot held them.
	topics map[string]Topic
	states map[string]PartitionState
}

// Load is metadata.Load through the decoder's cache.
func (d *Decoder) Load(ctx context.Context, st cluster.Store) (Snapshot, error) {
	kvs, index, err := st.List(ctx, "")
	if err != nil {
		return Snapshot{}, fmt.Errorf("metadata: load: %w", err)
	}
	return decodeSnapshot(kvs, index, d)
}

// Watch is WatchSnapshot through the decoder's cache.
func (d *Decoder) Watch(ctx context.Context, st cluster.Store, index uint64) (Snapshot, error) {
	kvs, next, err := st.Watch(ctx, "", index)
	if err != nil {
		return Snapshot{}, fmt.Errorf("metadata: watch: %w", err)
	}
	return decodeSnapshot(kvs, next, d)
}

// topic returns the cached topic of kv when its version matches. A nil
// Decoder has nothing cached.
func (d *Decoder) topic(kv cluster.KV) (Topic, bool) {
	if d == nil {
		return Topic{}, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.topics[kv.Key]
	return t, ok && t.Version == kv.Version
}

// state returns the cached state of kv when its version matches.
func (d *Decoder) state(kv cluster.KV) (PartitionState, bool) {
	if d == nil {
		return PartitionState{}, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.states[kv.Key]
	return s, ok && s.Version == kv.Version
}

// keep replaces the cache with what the last snapshot decoded, so it
// never holds more than one snapshot.
func (d *Decoder) keep(next decoded) {
	if d == nil {
		return
	}
	d.mu.Lock()
	d.topics, d.states = next.topics, next.states
	d.mu.Unlock()
}

// decoded is what one snapshot decoded, by store key.
type decoded struct {
	topics map[string]Topic
	states map[string]PartitionState
}
