package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/sluice-mq/sluice/messages"
)

// Kafka's topic name rule: 1-249 of [a-zA-Z0-9._-], not "." or "..".
var validTopicName = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,249}$`)

// ValidateTopicName reports whether name is a legal topic name, as an
// INVALID_TOPIC_EXCEPTION error.
func ValidateTopicName(name string) error {
	if !validTopicName.MatchString(name) || name == "." || name == ".." {
		return messages.ErrorForCode(messages.ErrorCode_INVALID_TOPIC_EXCEPTION,
			fmt.Sprintf("topic name %q: want 1-249 of [a-zA-Z0-9._-], not . or ..", name))
	}
	return nil
}

// adminCall sends an admin request to the controller when the metadata
// names one, otherwise to any broker, and retries retriable failures. A
// node that cannot be reached is a NETWORK_EXCEPTION, so the retry asks
// another one after refreshing metadata.
func adminCall[T response](ctx context.Context, c *Client, req proto.Message) (T, error) {
	var res T
	err := c.retry(ctx, func(attempt int) error {
		addr := c.adminTarget(attempt)
		var err error
		res, err = call[T](ctx, c, actor.NewPID(addr, messages.NodeActorID), req, c.cfg.RequestTimeout)
		if errors.Is(err, errNoActor) {
			return fmt.Errorf("%w: %w", messages.ErrorForCode(messages.ErrorCode_NETWORK_EXCEPTION, "node "+addr+" unreachable"), err)
		}
		if errors.Is(err, messages.ErrUnknownTopicOrPartition) {
			// The controller's word on topics is final, unlike a
			// replica's, which may lag behind metadata.
			return permanent(err)
		}
		return err
	})
	return res, err
}

// anyNodeCall sends req, which every node answers alike (InitProducerId
// without a transactional id), to a known address per attempt
// (metadataCandidates: the node that last answered metadata first, the
// others shuffled anew each attempt): a controller that just died does not
// hold the request up for a whole request timeout.
func anyNodeCall[T response](ctx context.Context, c *Client, req proto.Message) (T, error) {
	var res T
	err := c.retry(ctx, func(attempt int) error {
		cands := c.metadataCandidates()
		addr := cands[attempt%len(cands)]
		var err error
		res, err = call[T](ctx, c, actor.NewPID(addr, messages.NodeActorID), req, c.cfg.RequestTimeout)
		if errors.Is(err, errNoActor) {
			return fmt.Errorf("%w: %w", messages.ErrorForCode(messages.ErrorCode_NETWORK_EXCEPTION, "node "+addr+" unreachable"), err)
		}
		return err
	})
	return res, err
}

// adminTarget picks the node for an admin request: the controller first,
// then, on later attempts, a known address from metadataCandidates (which
// shuffles anew each time, so an address may come again).
func (c *Client) adminTarget(attempt int) string {
	s := c.meta.Load()
	if b, ok := s.brokers[s.controller]; ok && attempt == 0 {
		return b.Address
	}
	cands := c.metadataCandidates()
	return cands[attempt%len(cands)]
}

// CreateTopic creates a topic with partitions partitions, each replicated
// to replicationFactor nodes, and Kafka topic configs (retention.ms,
// max.message.bytes, ...). It returns the new topic's metadata.
func (c *Client) CreateTopic(ctx context.Context, name string, partitions int32, replicationFactor int32, configs map[string]string) (TopicInfo, error) {
	if err := ValidateTopicName(name); err != nil {
		return TopicInfo{}, err
	}
	if partitions <= 0 {
		return TopicInfo{}, messages.ErrorForCode(messages.ErrorCode_INVALID_PARTITIONS,
			fmt.Sprintf("topic %q: %d partitions, want at least 1", name, partitions))
	}
	if replicationFactor <= 0 {
		return TopicInfo{}, messages.ErrorForCode(messages.ErrorCode_INVALID_REPLICATION_FACTOR,
			fmt.Sprintf("topic %q: replication factor %d, want at least 1", name, replicationFactor))
	}
	// One id for every attempt: a retry of a create whose answer was lost
	// gets the topic rather than TOPIC_ALREADY_EXISTS.
	res, err := adminCall[*messages.CreateTopicResponse](ctx, c, &messages.CreateTopicRequest{
		Name: name, Partitions: partitions, ReplicationFactor: replicationFactor, Configs: configs,
		RequestId: rand.Text(),
	})
	if err != nil {
		return TopicInfo{}, fmt.Errorf("create topic %q: %w", name, err)
	}
	c.invalidate(ctx)
	if t := res.GetTopic(); t != nil {
		s := newSnapshot(&messages.MetadataResponse{Topics: []*messages.TopicMetadata{t}})
		return s.topics[t.GetName()].info, nil
	}
	return TopicInfo{Name: name}, nil
}

// DeleteTopic deletes a topic and its data.
func (c *Client) DeleteTopic(ctx context.Context, name string) error {
	_, err := adminCall[*messages.DeleteTopicResponse](ctx, c, &messages.DeleteTopicRequest{Name: name})
	if err != nil {
		return fmt.Errorf("delete topic %q: %w", name, err)
	}
	c.invalidate(ctx)
	return nil
}

// CreatePartitions grows topic to totalCount partitions.
func (c *Client) CreatePartitions(ctx context.Context, topic string, totalCount int32) error {
	_, err := adminCall[*messages.CreatePartitionsResponse](ctx, c, &messages.CreatePartitionsRequest{
		Topic: topic, TotalCount: totalCount,
	})
	if err != nil {
		return fmt.Errorf("create partitions of %q: %w", topic, err)
	}
	c.invalidate(ctx)
	return nil
}

// AlterConfigs sets and deletes (resets to the broker default) topic
// configs, returning the topic's resulting configs.
func (c *Client) AlterConfigs(ctx context.Context, topic string, set map[string]string, deleteKeys []string) (map[string]string, error) {
	res, err := adminCall[*messages.AlterConfigsResponse](ctx, c, &messages.AlterConfigsRequest{
		Topic: topic, Set: set, Delete: deleteKeys,
	})
	if err != nil {
		return nil, fmt.Errorf("alter configs of %q: %w", topic, err)
	}
	c.invalidate(ctx)
	return res.GetConfigs(), nil
}

// invalidate refreshes metadata after an admin change, so the next
// lookups see it; a failure leaves the old cache and is not an error of
// the change itself.
func (c *Client) invalidate(ctx context.Context) {
	_, _ = c.refreshMetadata(ctx)
}

// PartitionStatus is a partition's log as its leader reports it.
type PartitionStatus struct {
	PartitionInfo
	LogStartOffset int64 `json:"log_start_offset"`
	LogEndOffset   int64 `json:"log_end_offset"`
	HighWatermark  int64 `json:"high_watermark"`
	SizeBytes      int64 `json:"size_bytes"`
	Segments       int32 `json:"segments"`
	// Error describes why the status is missing, "" when it is present.
	Error string `json:"error,omitempty"`
	Err   error  `json:"-"`
}

// TopicDescription is a topic's metadata with each partition's status.
type TopicDescription struct {
	Name string `json:"name"`
	// Configs are the topic's overrides of the node's defaults.
	Configs map[string]string `json:"configs,omitempty"`
	// Defaults are the topic config defaults of the node that answered
	// the metadata request: with Configs, the effective configuration.
	Defaults   map[string]string `json:"-"`
	Internal   bool              `json:"internal,omitempty"`
	Partitions []PartitionStatus `json:"partitions"`
}

// DescribeTopic returns the topic's metadata and asks every partition's
// leader for its log status, concurrently. A partition whose leader does
// not answer keeps its metadata and carries the failure in Err/Error.
func (c *Client) DescribeTopic(ctx context.Context, topic string) (TopicDescription, error) {
	s, err := c.refreshMetadata(ctx)
	if err != nil {
		return TopicDescription{}, err
	}
	t, ok := s.topics[topic]
	if !ok {
		return TopicDescription{}, fmt.Errorf("describe topic %q: %w", topic,
			messages.ErrorForCode(messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "topic does not exist"))
	}
	if t.info.Err != nil {
		return TopicDescription{}, fmt.Errorf("describe topic %q: %w", topic, t.info.Err)
	}
	d := TopicDescription{Name: topic, Configs: t.info.Configs, Defaults: s.topicDefaults, Internal: t.info.Internal,
		Partitions: make([]PartitionStatus, len(t.partitions))}
	var wg sync.WaitGroup
	for i, p := range t.partitions {
		d.Partitions[i].PartitionInfo = p.info
		wg.Go(func() {
			st := &d.Partitions[i]
			res, err := c.partitionStatus(ctx, topic, p.info.Partition)
			if err != nil {
				st.Err, st.Error = err, err.Error()
				return
			}
			st.LogStartOffset, st.LogEndOffset = res.GetLogStartOffset(), res.GetLogEndOffset()
			st.HighWatermark, st.SizeBytes, st.Segments = res.GetHighWatermark(), res.GetSizeBytes(), res.GetSegments()
		})
	}
	wg.Wait()
	return d, nil
}

func (c *Client) partitionStatus(ctx context.Context, topic string, partition int32) (*messages.PartitionStatusResponse, error) {
	var res *messages.PartitionStatusResponse
	err := c.retry(ctx, func(int) error {
		var err error
		res, err = replicaCall[*messages.PartitionStatusResponse](ctx, c, topic, partition,
			func(int32) proto.Message { return &messages.PartitionStatusRequest{Topic: topic, Partition: partition} },
			c.cfg.RequestTimeout)
		return err
	})
	return res, err
}

// Special timestamps of ListOffsets.
const (
	LatestTimestamp   int64 = -1 // the log end: the offset the next record gets
	EarliestTimestamp int64 = -2 // the log start
)

// ListOffsets returns the first offset of partition whose record
// timestamp is >= ts (milliseconds), or for LatestTimestamp and
// EarliestTimestamp the high watermark and log start offset. The offset is
// -1 when no record has such a timestamp. It also returns that record's
// timestamp when the broker reports one.
func (c *Client) ListOffsets(ctx context.Context, topic string, partition int32, ts int64) (offset, timestamp int64, err error) {
	err = c.retry(ctx, func(int) error {
		res, err := replicaCall[*messages.ListOffsetsResponse](ctx, c, topic, partition,
			func(epoch int32) proto.Message {
				return &messages.ListOffsetsRequest{Topic: topic, Partition: partition, Timestamp: ts, LeaderEpoch: epoch}
			}, c.cfg.RequestTimeout)
		if err != nil {
			return err
		}
		offset, timestamp = res.GetOffset(), res.GetTimestamp()
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("list offsets %s/%d: %w", topic, partition, err)
	}
	return offset, timestamp, nil
}

// replicaCall sends the request req builds for the leader epoch the
// metadata names to the leader of topic/partition. A dead letter means the
// replica actor is not on that node (leadership moved, or the partition is
// not started yet): NOT_LEADER_OR_FOLLOWER, so the retry refreshes
// metadata, as it does after FENCED_LEADER_EPOCH.
func replicaCall[T response](ctx context.Context, c *Client, topic string, partition int32, req func(leaderEpoch int32) proto.Message, timeout time.Duration) (T, error) {
	var zero T
	p, err := c.partition(ctx, topic, partition)
	if err != nil {
		return zero, err
	}
	res, err := call[T](ctx, c, p.leader, req(p.epoch()), timeout)
	if errors.Is(err, errNoActor) {
		return res, fmt.Errorf("%w: %w", messages.ErrorForCode(messages.ErrorCode_NOT_LEADER_OR_FOLLOWER,
			fmt.Sprintf("no replica of %s/%d on node %d", topic, partition, p.info.Leader)), err)
	}
	return res, err
}
