package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
)

// Broker is a node of the cluster.
type Broker struct {
	NodeID      int32  `json:"node_id"`
	Address     string `json:"address"`                // host:port of the node's actor remote
	HTTPAddress string `json:"http_address,omitempty"` // host:port of its HTTP endpoint
}

// PartitionInfo is one partition as the metadata describes it.
type PartitionInfo struct {
	Partition   int32   `json:"partition"`
	Leader      int32   `json:"leader"` // node id, -1 when there is none
	LeaderEpoch int32   `json:"leader_epoch"`
	Replicas    []int32 `json:"replicas"`
	ISR         []int32 `json:"isr"`
	Err         error   `json:"-"`
}

// TopicInfo is one topic as the metadata describes it.
type TopicInfo struct {
	Name       string            `json:"name"`
	Partitions []PartitionInfo   `json:"partitions"`
	Configs    map[string]string `json:"configs,omitempty"`
	Internal   bool              `json:"internal,omitempty"`
	Err        error             `json:"-"`
}

// Metadata is a snapshot of the cluster's brokers and topics.
type Metadata struct {
	ClusterID    string      `json:"cluster_id"`
	ControllerID int32       `json:"controller_id"`
	Brokers      []Broker    `json:"brokers"`
	Topics       []TopicInfo `json:"topics"`
}

// snapshot is the client's immutable metadata cache; a refresh replaces it.
type snapshot struct {
	clusterID  string
	controller int32
	// topicDefaults are the answering node's topic config defaults.
	topicDefaults map[string]string
	brokers       map[int32]Broker
	topics        map[string]*topicState
}

type topicState struct {
	info TopicInfo
	// maxMessageBytes is the topic's max.message.bytes, 0 when unset.
	maxMessageBytes int
	partitions      []partitionState // indexed by partition id
}

type partitionState struct {
	info PartitionInfo
	// leader is the leader replica actor, nil when there is no leader or
	// its node is not among the brokers.
	leader *actor.PID
}

// epoch is the leader epoch requests to the partition's leader carry
// (Kafka's KIP-320 current leader epoch): the one the metadata names with
// the leader, -1 when there is no leader. A replica in another epoch
// refuses the request with FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH
// instead of serving it on a stale view, and the client refreshes its
// metadata and retries.
func (p partitionState) epoch() int32 {
	if p.leader == nil {
		return -1
	}
	return p.info.LeaderEpoch
}

func newSnapshot(res *messages.MetadataResponse) *snapshot {
	s := &snapshot{
		clusterID:     res.GetClusterId(),
		controller:    res.GetControllerId(),
		topicDefaults: res.GetTopicDefaults(),
		brokers:       make(map[int32]Broker, len(res.GetBrokers())),
		topics:        make(map[string]*topicState, len(res.GetTopics())),
	}
	for _, b := range res.GetBrokers() {
		s.brokers[b.GetNodeId()] = Broker{NodeID: b.GetNodeId(), Address: b.GetAddress(), HTTPAddress: b.GetHttpAddress()}
	}
	for _, t := range res.GetTopics() {
		ts := &topicState{info: TopicInfo{
			Name:     t.GetName(),
			Configs:  t.GetConfigs(),
			Internal: t.GetInternal(),
			Err:      messages.ErrorForCode(t.GetErrorCode(), "topic "+t.GetName()),
		}}
		// The topic's override, else the answering node's default.
		if v, ok := t.GetConfigs()["max.message.bytes"]; ok {
			ts.maxMessageBytes, _ = strconv.Atoi(v) // a bad value leaves the limit to the broker
		} else if v, ok := res.GetTopicDefaults()["max.message.bytes"]; ok {
			ts.maxMessageBytes, _ = strconv.Atoi(v)
		}
		parts := append([]*messages.PartitionMetadata(nil), t.GetPartitions()...)
		sort.Slice(parts, func(i, j int) bool { return parts[i].GetPartition() < parts[j].GetPartition() })
		for _, p := range parts {
			ps := partitionState{info: PartitionInfo{
				Partition:   p.GetPartition(),
				Leader:      p.GetLeader(),
				LeaderEpoch: p.GetLeaderEpoch(),
				Replicas:    p.GetReplicas(),
				ISR:         p.GetIsr(),
				Err:         messages.ErrorForCode(p.GetErrorCode(), fmt.Sprintf("%s/%d", t.GetName(), p.GetPartition())),
			}}
			if b, ok := s.brokers[p.GetLeader()]; ok && p.GetLeader() >= 0 {
				ps.leader = actor.NewPID(b.Address, messages.ReplicaActorID(t.GetName(), p.GetPartition()))
			}
			ts.info.Partitions = append(ts.info.Partitions, ps.info)
			ts.partitions = append(ts.partitions, ps)
		}
		s.topics[ts.info.Name] = ts
	}
	return s
}

// metadata converts the snapshot to the exported form, topics by name.
func (s *snapshot) metadata() Metadata {
	m := Metadata{ClusterID: s.clusterID, ControllerID: s.controller}
	for _, b := range s.brokers {
		m.Brokers = append(m.Brokers, b)
	}
	sort.Slice(m.Brokers, func(i, j int) bool { return m.Brokers[i].NodeID < m.Brokers[j].NodeID })
	for _, t := range s.topics {
		m.Topics = append(m.Topics, t.info)
	}
	sort.Slice(m.Topics, func(i, j int) bool { return m.Topics[i].Name < m.Topics[j].Name })
	return m
}

type refreshCall struct {
	done chan struct{}
	snap *snapshot
	err  error
}

// refreshMetadata fetches fresh metadata, sharing a fetch already in
// progress: a burst of cache misses costs one request at a time.
func (c *Client) refreshMetadata(ctx context.Context) (*snapshot, error) {
	c.refreshMu.Lock()
	call := c.refreshing
	if call == nil {
		call = &refreshCall{done: make(chan struct{})}
		c.refreshing = call
		go c.runRefresh(call)
	}
	c.refreshMu.Unlock()
	select {
	case <-call.done:
		return call.snap, call.err
	case <-ctx.Done():
		return nil, ctxError(ctx, "waiting for metadata")
	}
}

// runRefresh fetches metadata for call. It runs detached from the callers'
// contexts (one caller giving up must not fail the others) and is bounded
// by the request timeout per broker and by the client's life.
func (c *Client) runRefresh(call *refreshCall) {
	snap, err := c.fetchMetadata()
	if err == nil {
		c.meta.Store(snap)
	}
	call.snap, call.err = snap, err
	c.refreshMu.Lock()
	c.refreshing = nil
	c.refreshMu.Unlock()
	close(call.done)
}

// fetchMetadata asks brokers in turn, the one that answered last first,
// then the others in random order, then the seeds.
func (c *Client) fetchMetadata() (*snapshot, error) {
	var errs []error
	for _, addr := range c.metadataCandidates() {
		res, err := call[*messages.MetadataResponse](c.ctx, c, actor.NewPID(addr, messages.NodeActorID),
			&messages.MetadataRequest{}, c.cfg.RequestTimeout)
		if err == nil {
			c.refreshMu.Lock()
			c.lastGood = addr
			c.refreshMu.Unlock()
			return newSnapshot(res), nil
		}
		if c.ctx.Err() != nil {
			return nil, ErrClosed
		}
		c.log.Debug("metadata request failed", slog.String("broker", addr), slog.Any("error", err))
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	return nil, fmt.Errorf("%w: %w", messages.ErrorForCode(messages.ErrorCode_NETWORK_EXCEPTION, "no broker answered"), errors.Join(errs...))
}

func (c *Client) metadataCandidates() []string {
	c.refreshMu.Lock()
	last := c.lastGood
	c.refreshMu.Unlock()
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	add(last)
	var known []string
	for _, b := range c.meta.Load().brokers {
		known = append(known, b.Address)
	}
	rand.Shuffle(len(known), func(i, j int) { known[i], known[j] = known[j], known[i] })
	for _, a := range known {
		add(a)
	}
	for _, a := range c.cfg.Seeds {
		add(a)
	}
	return out
}

// Metadata returns fresh metadata for the whole cluster.
func (c *Client) Metadata(ctx context.Context) (Metadata, error) {
	s, err := c.refreshMetadata(ctx)
	if err != nil {
		return Metadata{}, err
	}
	return s.metadata(), nil
}

// ListTopics returns every topic with its partitions, by name.
func (c *Client) ListTopics(ctx context.Context) ([]TopicInfo, error) {
	m, err := c.Metadata(ctx)
	if err != nil {
		return nil, err
	}
	return m.Topics, nil
}

// topic returns the cached state of topic, refreshing metadata once when
// the topic is missing. A topic still missing after the refresh is
// UNKNOWN_TOPIC_OR_PARTITION, marked permanent for the retry loop.
func (c *Client) topic(ctx context.Context, topic string) (*topicState, error) {
	if t, ok := c.meta.Load().topics[topic]; ok {
		return t, nil
	}
	s, err := c.refreshMetadata(ctx)
	if err != nil {
		return nil, err
	}
	if t, ok := s.topics[topic]; ok {
		return t, nil
	}
	return nil, permanent(fmt.Errorf("topic %q: %w", topic, messages.ErrorForCode(
		messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "topic does not exist")))
}

// partition returns the cached state of one partition with its leader.
// A missing leader is LEADER_NOT_AVAILABLE (retriable).
func (c *Client) partition(ctx context.Context, topic string, partition int32) (partitionState, error) {
	t, err := c.topic(ctx, topic)
	if err != nil {
		return partitionState{}, err
	}
	if t.info.Err != nil {
		return partitionState{}, t.info.Err
	}
	if partition >= 0 && int(partition) >= len(t.partitions) {
		// Partitions may have been added since the cache was filled.
		if s, err := c.refreshMetadata(ctx); err == nil && s.topics[topic] != nil {
			t = s.topics[topic]
		}
	}
	if partition < 0 || int(partition) >= len(t.partitions) {
		return partitionState{}, permanent(fmt.Errorf("%s/%d: %w", topic, partition, messages.ErrorForCode(
			messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, fmt.Sprintf("topic has %d partitions", len(t.partitions)))))
	}
	p := t.partitions[partition]
	if p.info.Err != nil && !errors.Is(p.info.Err, messages.ErrLeaderNotAvailable) {
		return p, p.info.Err
	}
	if p.leader == nil {
		return p, messages.ErrorForCode(messages.ErrorCode_LEADER_NOT_AVAILABLE, fmt.Sprintf("%s/%d has no leader", topic, partition))
	}
	return p, nil
}

// cachedPartition is partition without any wait: a topic or leader
// missing from the cache is a retriable error and starts a refresh.
func (c *Client) cachedPartition(topic string, partition int32) (partitionState, error) {
	t, ok := c.meta.Load().topics[topic]
	if !ok {
		c.refreshAsync()
		return partitionState{}, fmt.Errorf("%s/%d: %w", topic, partition, messages.ErrorForCode(
			messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "topic not in metadata"))
	}
	if partition < 0 || int(partition) >= len(t.partitions) {
		c.refreshAsync()
		return partitionState{}, fmt.Errorf("%s/%d: %w", topic, partition, messages.ErrorForCode(
			messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, fmt.Sprintf("topic has %d partitions", len(t.partitions))))
	}
	p := t.partitions[partition]
	if p.leader == nil {
		c.refreshAsync()
		return p, messages.ErrorForCode(messages.ErrorCode_LEADER_NOT_AVAILABLE, fmt.Sprintf("%s/%d has no leader", topic, partition))
	}
	return p, nil
}

// refreshAsync starts a metadata refresh unless one is running.
func (c *Client) refreshAsync() {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	if c.refreshing == nil && c.ctx.Err() == nil {
		call := &refreshCall{done: make(chan struct{})}
		c.refreshing = call
		go c.runRefresh(call)
	}
}
