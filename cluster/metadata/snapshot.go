package metadata

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/sluice-mq/sluice/cluster"
)

// Snapshot is every topic and partition state at one store index. Partition
// states of topics that do not exist (left by an interrupted delete) are
// dropped; a partition without a state has no entry in States.
type Snapshot struct {
	// ClusterID is the value of ClusterIDKey, empty until EnsureClusterID.
	ClusterID string
	Topics    map[string]Topic
	States    map[TopicPartition]PartitionState
	// DeletedTopics holds the delete records, by topic id.
	DeletedTopics map[string]DeletedTopic
	// OfflineLogDirs holds the nodes with an offline log dir, by node id.
	OfflineLogDirs map[int32]NodeLogDirs
	// ShuttingDown holds the nodes in controlled shutdown.
	ShuttingDown map[int32]bool
	// Index is the store index the snapshot is consistent with; pass it to
	// WatchSnapshot.
	Index uint64
}

// TopicNames returns the topic names sorted.
func (s Snapshot) TopicNames() []string {
	names := make([]string, 0, len(s.Topics))
	for n := range s.Topics {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// State returns a partition's state and whether it exists.
func (s Snapshot) State(topic string, partition int32) (PartitionState, bool) {
	st, ok := s.States[TopicPartition{Topic: topic, Partition: partition}]
	return st, ok
}

// Load reads every topic and partition state in one consistent listing.
func Load(ctx context.Context, st cluster.Store) (Snapshot, error) {
	kvs, index, err := st.List(ctx, "")
	if err != nil {
		return Snapshot{}, fmt.Errorf("metadata: load: %w", err)
	}
	return decodeSnapshot(kvs, index, nil)
}

// WatchSnapshot blocks until the metadata changes after index (or the
// store's wait time passes: then the snapshot has the same content) and
// returns the new snapshot.
func WatchSnapshot(ctx context.Context, st cluster.Store, index uint64) (Snapshot, error) {
	kvs, next, err := st.Watch(ctx, "", index)
	if err != nil {
		return Snapshot{}, fmt.Errorf("metadata: watch: %w", err)
	}
	return decodeSnapshot(kvs, next, nil)
}

// decodeSnapshot decodes a full listing. With a cache, topics and states
// whose key and version it holds are taken from it instead of decoded
// again (the decode of thousands of unchanged keys per change dominated
// a node with many partitions), and the cache is updated.
func decodeSnapshot(kvs []cluster.KV, index uint64, cache *Decoder) (Snapshot, error) {
	s := Snapshot{
		Topics:        make(map[string]Topic),
		States:        make(map[TopicPartition]PartitionState),
		DeletedTopics: make(map[string]DeletedTopic),
		Index:         index,

		OfflineLogDirs: make(map[int32]NodeLogDirs),
		ShuttingDown:   make(map[int32]bool),
	}
	var states []cluster.KV
	var next decoded
	if cache != nil {
		next = decoded{topics: make(map[string]Topic), states: make(map[string]PartitionState, len(kvs))}
	}
	for _, kv := range kvs {
		switch {
		case strings.HasPrefix(kv.Key, TopicsPrefix):
			t, ok := cache.topic(kv)
			if !ok {
				var err error
				if t, err = decodeTopic(kv); err != nil {
					return Snapshot{}, err
				}
			}
			s.Topics[t.Name] = t
			if next.topics != nil {
				next.topics[kv.Key] = t
			}
		case strings.HasPrefix(kv.Key, PartitionsPrefix):
			states = append(states, kv)
		case strings.HasPrefix(kv.Key, DeletedTopicsPrefix):
			d, err := decodeDeletedTopic(kv)
			if err != nil {
				return Snapshot{}, err
			}
			s.DeletedTopics[d.ID] = d
		case strings.HasPrefix(kv.Key, LogDirsPrefix):
			addLogDirs(s.OfflineLogDirs, kv)
		case strings.HasPrefix(kv.Key, ShuttingDownPrefix):
			addNode(s.ShuttingDown, kv, ShuttingDownPrefix)
		case kv.Key == ClusterIDKey:
			s.ClusterID = string(kv.Value)
		}
	}
	for _, kv := range states {
		tp, err := parseStateKey(kv.Key)
		if err != nil {
			return Snapshot{}, err
		}
		t, ok := s.Topics[tp.Topic]
		if !ok || int(tp.Partition) >= t.Partitions() {
			continue
		}
		state, ok := cache.state(kv)
		if !ok {
			var err error
			if state, err = decodeState(kv); err != nil {
				return Snapshot{}, err
			}
		}
		s.States[tp] = state
		if next.states != nil {
			next.states[kv.Key] = state
		}
	}
	cache.keep(next)
	return s, nil
}

// parseStateKey splits "partitions/<topic>/<partition>".
func parseStateKey(key string) (TopicPartition, error) {
	rest := strings.TrimPrefix(key, PartitionsPrefix)
	slash := strings.LastIndexByte(rest, '/')
	if slash <= 0 {
		return TopicPartition{}, fmt.Errorf("%w: bad partition state key %q", ErrMalformed, key)
	}
	p, err := strconv.ParseInt(rest[slash+1:], 10, 32)
	if err != nil || p < 0 {
		return TopicPartition{}, fmt.Errorf("%w: bad partition state key %q", ErrMalformed, key)
	}
	return TopicPartition{Topic: rest[:slash], Partition: int32(p)}, nil
}
