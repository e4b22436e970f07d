package metadata

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

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
	// CreateRequestID is the request id of the create that wrote the
	// topic (empty if it had none): a retry of that create succeeds.
	CreateRequestID string `json:"create_request_id,omitempty"`

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

// TopicKey returns the store key of a topic.
func TopicKey(name string) string { return TopicsPrefix + name }

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

// DeleteTopic records the delete of a topic (DeletedTopicsPrefix), then
// removes the topic, then its partition states. It fails with
// messages.ErrUnknownTopicOrPartition when the topic does not exist.
func DeleteTopic(ctx context.Context, st cluster.Store, name string) error {
	kv, err := st.Get(ctx, TopicKey(name))
	if errors.Is(err, cluster.ErrNotFound) {
		return messages.Wrap(messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "topic %q does not exist", name)
	}
	if err != nil {
		return fmt.Errorf("metadata: delete topic %q: %w", name, err)
	}
	t, err := decodeTopic(kv)
	if err != nil {
		return err
	}
	if err := recordDelete(ctx, st, t); err != nil {
		return err
	}
	if err := st.Delete(ctx, kv.Key, kv.Version); err != nil {
		return fmt.Errorf("metadata: delete topic %q: %w", name, err)
	}
	if err := st.DeleteTree(ctx, partitionStatePrefix(name)); err != nil {
		return fmt.Errorf("metadata: delete partition states of %q: %w", name, err)
	}
	return nil
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
