package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/messages"
)

// PartitionState is the changing state of one partition: who leads, in
// which epoch, and which replicas are in sync. The controller writes it on
// creation and leader elections, the leader on ISR changes; always by CAS.
type PartitionState struct {
	// Leader is the node id of the leader, or -1 when none is available.
	Leader int32 `json:"leader"`
	// LeaderEpoch increases on every leader change; replicas reject
	// requests carrying an older epoch.
	LeaderEpoch int32   `json:"leader_epoch"`
	ISR         []int32 `json:"isr"`

	// Version is the store version the state was read at; CAS compares it.
	Version uint64 `json:"-"`
}

// TopicPartition names one partition; it is comparable and used as a map key.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string {
	return tp.Topic + "/" + strconv.Itoa(int(tp.Partition))
}

// InitialStates returns the state of new partitions: the first replica
// leads in epoch 0 and every replica is in sync.
func InitialStates(replicas [][]int32) []PartitionState {
	states := make([]PartitionState, len(replicas))
	for i, r := range replicas {
		states[i] = PartitionState{Leader: -1, ISR: append([]int32{}, r...)}
		if len(r) > 0 {
			states[i].Leader = r[0]
		}
	}
	return states
}

// PartitionStateKey returns the store key of a partition's state.
func PartitionStateKey(topic string, partition int32) string {
	return PartitionsPrefix + topic + "/" + strconv.Itoa(int(partition))
}

// partitionStatePrefix returns the prefix of a topic's partition states.
func partitionStatePrefix(topic string) string { return PartitionsPrefix + topic + "/" }

func decodeState(kv cluster.KV) (PartitionState, error) {
	var s PartitionState
	if err := json.Unmarshal(kv.Value, &s); err != nil {
		return PartitionState{}, fmt.Errorf("%w: %s: %v", ErrMalformed, kv.Key, err)
	}
	s.Version = kv.Version
	return s, nil
}

// GetPartitionState reads a partition's state;
// messages.ErrUnknownTopicOrPartition when missing.
func GetPartitionState(ctx context.Context, st cluster.Store, topic string, partition int32) (PartitionState, error) {
	kv, err := st.Get(ctx, PartitionStateKey(topic, partition))
	if errors.Is(err, cluster.ErrNotFound) {
		return PartitionState{}, messages.Wrap(messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "partition %s/%d does not exist", topic, partition)
	}
	if err != nil {
		return PartitionState{}, fmt.Errorf("metadata: get state %s/%d: %w", topic, partition, err)
	}
	return decodeState(kv)
}

// CASPartitionState writes a partition's state when the stored one is at
// version (0: must not exist) and returns the new version. A lost race
// returns an error wrapping cluster.ErrVersionMismatch.
func CASPartitionState(ctx context.Context, st cluster.Store, topic string, partition int32, state PartitionState, version uint64) (uint64, error) {
	value, err := json.Marshal(state)
	if err != nil {
		return 0, fmt.Errorf("metadata: encode state %s/%d: %w", topic, partition, err)
	}
	v, err := st.CAS(ctx, PartitionStateKey(topic, partition), value, version)
	if err != nil {
		return 0, fmt.Errorf("metadata: write state %s/%d: %w", topic, partition, err)
	}
	return v, nil
}

// stateWriters bounds the concurrent writes of putStates. Concurrent writes
// share commits: the local store group-commits them, Consul serves them in
// parallel.
const stateWriters = 16

// bulkStates is how many states putStates hands a cluster.BulkPutter at
// once: a few commits for a topic of thousands of partitions, each
// followed by the watchers' turn.
const bulkStates = 2000

// putStates writes states of partitions first, first+1, ... concurrently
// (in bulk when the store is a cluster.BulkPutter) and returns the first
// error after all writes have finished.
func putStates(ctx context.Context, st cluster.Store, topic string, first int32, states []PartitionState) error {
	if bulk, ok := st.(cluster.BulkPutter); ok {
		return putStatesBulk(ctx, bulk, topic, first, states)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	sem := make(chan struct{}, stateWriters)
	for i, s := range states {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := putState(ctx, st, topic, first+int32(i), s); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

func putStatesBulk(ctx context.Context, st cluster.BulkPutter, topic string, first int32, states []PartitionState) error {
	for len(states) > 0 {
		n := min(len(states), bulkStates)
		kvs := make([]cluster.KV, n)
		for i, s := range states[:n] {
			value, err := json.Marshal(s)
			if err != nil {
				return fmt.Errorf("metadata: encode state %s/%d: %w", topic, first+int32(i), err)
			}
			kvs[i] = cluster.KV{Key: PartitionStateKey(topic, first+int32(i)), Value: value}
		}
		if err := st.PutAll(ctx, kvs); err != nil {
			return fmt.Errorf("metadata: write states of %s from %d: %w", topic, first, err)
		}
		states, first = states[n:], first+int32(n)
	}
	return nil
}

// putState writes a partition state whatever is stored under its key: a new
// topic's partition may find a state left by an interrupted delete of an
// earlier topic with the same name.
func putState(ctx context.Context, st cluster.Store, topic string, p int32, s PartitionState) error {
	value, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("metadata: encode state %s/%d: %w", topic, p, err)
	}
	if err := replace(ctx, st, PartitionStateKey(topic, p), value); err != nil {
		return fmt.Errorf("metadata: write state %s/%d: %w", topic, p, err)
	}
	return nil
}

// completeWriters bounds the concurrent writes of CompleteStates.
const completeWriters = 64

// CompleteStates writes the initial state of every partition of t that
// has none, leaving written states alone (check-and-set on absence). A
// retried create runs it: the attempt that created the topic may have
// been cut off (its deadline) before it wrote every state, and a
// partition without a state is never given a leader.
func CompleteStates(ctx context.Context, st cluster.Store, t Topic) error {
	kvs, _, err := st.List(ctx, partitionStatePrefix(t.Name))
	if err != nil {
		return fmt.Errorf("metadata: list states of %q: %w", t.Name, err)
	}
	have := make(map[int32]bool, len(kvs))
	for _, kv := range kvs {
		if tp, err := parseStateKey(kv.Key); err == nil && tp.Topic == t.Name {
			have[tp.Partition] = true
		}
	}
	initial := InitialStates(t.Replicas)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	sem := make(chan struct{}, completeWriters)
	for p, s := range initial {
		if have[int32(p)] {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := CASPartitionState(ctx, st, t.Name, int32(p), s, 0)
			if err != nil && !errors.Is(err, cluster.ErrVersionMismatch) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}
