package metadata

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/messages"
)

// Key prefixes in the metadata store (see doc.go).
const (
	TopicsPrefix     = "topics/"
	PartitionsPrefix = "partitions/"
)

// ErrMalformed means a stored value could not be decoded or breaks an
// invariant of its type; the error names the key.
var ErrMalformed = errors.New("metadata: malformed value")

// Topic is the stored definition of a topic. It changes only on admin
// requests (create, add partitions, alter configs) and reassignment.
type Topic struct {
	Name string `json:"name"`
	// ID is random per incarnation: a topic deleted and created again under
	// the same name gets a new ID, so replicas can tell old data from new.
	ID string `json:"id"`
	// Configs holds the topic's overrides of the broker defaults, by Kafka
	// config name; see TopicConfig.
	Configs map[string]string `json:"configs,omitempty"`
	// Replicas lists the replica node ids of each partition, indexed by
	// partition; the first is the preferred leader.
	// Invariant: every partition has the same number of distinct replicas.
	Replicas [][]int32 `json:"replicas"`
	Internal bool      `json:"internal,omitempty"`

	// Version is the store version the topic was read at (0 for a topic not
	// read from the store); UpdateTopic compares it.
	Version uint64 `json:"-"`
}

// Partitions returns the number of partitions.
func (t Topic) Partitions() int { return len(t.Replicas) }

// ReplicationFactor returns the number of replicas per partition.
func (t Topic) ReplicationFactor() int {
	if len(t.Replicas) == 0 {
		return 0
	}
	return len(t.Replicas[0])
}

// Config returns the topic's effective configuration: its overrides over
// the broker defaults.
func (t Topic) Config(defaults TopicConfig) (TopicConfig, error) {
	return ParseTopicConfig(t.Configs, defaults, t.ReplicationFactor())
}

// Clone returns a deep copy.
func (t Topic) Clone() Topic {
	c := t
	if t.Configs != nil {
		c.Configs = make(map[string]string, len(t.Configs))
		for k, v := range t.Configs {
			c.Configs[k] = v
		}
	}
	c.Replicas = make([][]int32, len(t.Replicas))
	for i, r := range t.Replicas {
		c.Replicas[i] = append([]int32(nil), r...)
	}
	return c
}

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

// TopicKey returns the store key of a topic.
func TopicKey(name string) string { return TopicsPrefix + name }

// PartitionStateKey returns the store key of a partition's state.
func PartitionStateKey(topic string, partition int32) string {
	return PartitionsPrefix + topic + "/" + strconv.Itoa(int(partition))
}

// partitionStatePrefix returns the prefix of a topic's partition states.
func partitionStatePrefix(topic string) string { return PartitionsPrefix + topic + "/" }

// newTopicID returns 16 random bytes in hex.
func newTopicID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("metadata: topic id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// validateTopic checks a topic's name and the shape of its assignment.
func validateTopic(t Topic) error {
	if err := ValidateTopicName(t.Name); err != nil {
		return err
	}
	if len(t.Replicas) == 0 {
		return messages.Wrap(messages.ErrorCode_INVALID_PARTITIONS, "topic %q has no partitions", t.Name)
	}
	rf := len(t.Replicas[0])
	for p, r := range t.Replicas {
		if len(r) == 0 || len(r) != rf {
			return messages.Wrap(messages.ErrorCode_INVALID_REPLICA_ASSIGNMENT,
				"topic %q partition %d has %d replicas, want %d", t.Name, p, len(r), rf)
		}
		seen := make(map[int32]bool, len(r))
		for _, n := range r {
			if seen[n] {
				return messages.Wrap(messages.ErrorCode_INVALID_REPLICA_ASSIGNMENT,
					"topic %q partition %d lists node %d twice", t.Name, p, n)
			}
			seen[n] = true
		}
	}
	return nil
}

// CreateTopic writes a new topic, then the state of each of its partitions
// (InitialStates of its replicas when states is nil). An empty ID is filled
// with a random one. It fails with messages.ErrTopicAlreadyExists when the
// topic key exists, messages.ErrInvalidTopic for a bad name.
func CreateTopic(ctx context.Context, st cluster.Store, t Topic, states []PartitionState) error {
	if err := validateTopic(t); err != nil {
		return err
	}
	if states == nil {
		states = InitialStates(t.Replicas)
	}
	if len(states) != len(t.Replicas) {
		return fmt.Errorf("metadata: create topic %q: %d partition states for %d partitions", t.Name, len(states), len(t.Replicas))
	}
	if t.ID == "" {
		id, err := newTopicID()
		if err != nil {
			return err
		}
		t.ID = id
	}
	value, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("metadata: encode topic %q: %w", t.Name, err)
	}
	if _, err := st.CAS(ctx, TopicKey(t.Name), value, 0); err != nil {
		if errors.Is(err, cluster.ErrVersionMismatch) {
			return messages.Wrap(messages.ErrorCode_TOPIC_ALREADY_EXISTS, "topic %q already exists", t.Name)
		}
		return fmt.Errorf("metadata: create topic %q: %w", t.Name, err)
	}
	return putStates(ctx, st, t.Name, 0, states)
}

// stateWriters bounds the concurrent writes of putStates. Concurrent writes
// share commits: the local store group-commits them, Consul serves them in
// parallel.
const stateWriters = 16

// putStates writes states of partitions first, first+1, ... concurrently
// and returns the first error after all writes have finished.
func putStates(ctx context.Context, st cluster.Store, topic string, first int32, states []PartitionState) error {
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

// putState writes a partition state whatever is stored under its key: a new
// topic's partition may find a state left by an interrupted delete of an
// earlier topic with the same name.
func putState(ctx context.Context, st cluster.Store, topic string, p int32, s PartitionState) error {
	value, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("metadata: encode state %s/%d: %w", topic, p, err)
	}
	key := PartitionStateKey(topic, p)
	for {
		var version uint64
		kv, err := st.Get(ctx, key)
		switch {
		case err == nil:
			version = kv.Version
		case !errors.Is(err, cluster.ErrNotFound):
			return fmt.Errorf("metadata: write state %s/%d: %w", topic, p, err)
		}
		_, err = st.CAS(ctx, key, value, version)
		if err == nil {
			return nil
		}
		if !errors.Is(err, cluster.ErrVersionMismatch) {
			return fmt.Errorf("metadata: write state %s/%d: %w", topic, p, err)
		}
	}
}

func decodeTopic(kv cluster.KV) (Topic, error) {
	var t Topic
	if err := json.Unmarshal(kv.Value, &t); err != nil {
		return Topic{}, fmt.Errorf("%w: %s: %v", ErrMalformed, kv.Key, err)
	}
	if t.Name != strings.TrimPrefix(kv.Key, TopicsPrefix) {
		return Topic{}, fmt.Errorf("%w: %s: holds topic %q", ErrMalformed, kv.Key, t.Name)
	}
	t.Version = kv.Version
	return t, nil
}

func decodeState(kv cluster.KV) (PartitionState, error) {
	var s PartitionState
	if err := json.Unmarshal(kv.Value, &s); err != nil {
		return PartitionState{}, fmt.Errorf("%w: %s: %v", ErrMalformed, kv.Key, err)
	}
	s.Version = kv.Version
	return s, nil
}

// GetTopic reads a topic; messages.ErrUnknownTopicOrPartition when missing.
func GetTopic(ctx context.Context, st cluster.Store, name string) (Topic, error) {
	kv, err := st.Get(ctx, TopicKey(name))
	if errors.Is(err, cluster.ErrNotFound) {
		return Topic{}, messages.Wrap(messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "topic %q does not exist", name)
	}
	if err != nil {
		return Topic{}, fmt.Errorf("metadata: get topic %q: %w", name, err)
	}
	return decodeTopic(kv)
}

// ListTopics returns every topic sorted by name.
func ListTopics(ctx context.Context, st cluster.Store) ([]Topic, error) {
	kvs, _, err := st.List(ctx, TopicsPrefix)
	if err != nil {
		return nil, fmt.Errorf("metadata: list topics: %w", err)
	}
	topics := make([]Topic, 0, len(kvs))
	for _, kv := range kvs {
		t, err := decodeTopic(kv)
		if err != nil {
			return nil, err
		}
		topics = append(topics, t)
	}
	sort.Slice(topics, func(i, j int) bool { return topics[i].Name < topics[j].Name })
	return topics, nil
}

// UpdateTopic writes t when the stored topic is still at t.Version and
// returns the new version. A lost race returns an error wrapping
// cluster.ErrVersionMismatch: re-read and retry.
func UpdateTopic(ctx context.Context, st cluster.Store, t Topic) (uint64, error) {
	if err := validateTopic(t); err != nil {
		return 0, err
	}
	if t.Version == 0 {
		return 0, fmt.Errorf("metadata: update topic %q: no version (topic not read from the store)", t.Name)
	}
	value, err := json.Marshal(t)
	if err != nil {
		return 0, fmt.Errorf("metadata: encode topic %q: %w", t.Name, err)
	}
	v, err := st.CAS(ctx, TopicKey(t.Name), value, t.Version)
	if err != nil {
		return 0, fmt.Errorf("metadata: update topic %q: %w", t.Name, err)
	}
	return v, nil
}

// DeleteTopic removes a topic, then its partition states. It fails with
// messages.ErrUnknownTopicOrPartition when the topic does not exist.
func DeleteTopic(ctx context.Context, st cluster.Store, name string) error {
	kv, err := st.Get(ctx, TopicKey(name))
	if errors.Is(err, cluster.ErrNotFound) {
		return messages.Wrap(messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "topic %q does not exist", name)
	}
	if err != nil {
		return fmt.Errorf("metadata: delete topic %q: %w", name, err)
	}
	if err := st.Delete(ctx, kv.Key, kv.Version); err != nil {
		return fmt.Errorf("metadata: delete topic %q: %w", name, err)
	}
	if err := st.DeleteTree(ctx, partitionStatePrefix(name)); err != nil {
		return fmt.Errorf("metadata: delete partition states of %q: %w", name, err)
	}
	return nil
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

// AddPartitions appends partitions with the replicas added to t (read from
// the store: t.Version is compared), then writes their initial states. A
// lost race returns an error wrapping cluster.ErrVersionMismatch and writes
// nothing: re-read and retry.
func AddPartitions(ctx context.Context, st cluster.Store, t Topic, added [][]int32) (Topic, error) {
	grown := t.Clone()
	grown.Replicas = append(grown.Replicas, added...)
	v, err := UpdateTopic(ctx, st, grown)
	if err != nil {
		return Topic{}, err
	}
	grown.Version = v
	if err := putStates(ctx, st, t.Name, int32(t.Partitions()), InitialStates(added)); err != nil {
		return Topic{}, err
	}
	return grown, nil
}
