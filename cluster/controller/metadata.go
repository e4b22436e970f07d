package controller

import (
	"sort"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

// ClusterView is what a node knows of the cluster at one moment: the
// metadata snapshot it last loaded or watched, the live members and the
// controller. The node actor keeps it current from its watches.
type ClusterView struct {
	ControllerID int32
	// Members are the live nodes.
	Members  []cluster.Member
	Snapshot metadata.Snapshot
}

// Metadata answers a MetadataRequest from view: the live brokers, and every
// requested topic (all topics when none is named) with its partitions.
// A requested topic that does not exist gets UNKNOWN_TOPIC_OR_PARTITION; a
// partition with no state yet, or whose leader is not a live member, gets
// LEADER_NOT_AVAILABLE and leader -1.
func Metadata(view ClusterView, req *messages.MetadataRequest) *messages.MetadataResponse {
	resp := &messages.MetadataResponse{
		ClusterId:    view.Snapshot.ClusterID,
		ControllerId: view.ControllerID,
		Brokers:      make([]*messages.Broker, 0, len(view.Members)),
	}
	live := make(map[int32]bool, len(view.Members))
	members := append([]cluster.Member(nil), view.Members...)
	sort.Slice(members, func(i, j int) bool { return members[i].NodeID < members[j].NodeID })
	for _, m := range members {
		live[m.NodeID] = true
		resp.Brokers = append(resp.Brokers, &messages.Broker{NodeId: m.NodeID, Address: m.Address, HttpAddress: m.HTTPAddress, KafkaAddress: m.KafkaAddress})
	}
	names := req.GetTopics()
	if len(names) == 0 {
		names = view.Snapshot.TopicNames()
	}
	for _, name := range names {
		t, ok := view.Snapshot.Topics[name]
		if !ok {
			resp.Topics = append(resp.Topics, &messages.TopicMetadata{
				ErrorCode: messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION,
				Name:      name,
			})
			continue
		}
		resp.Topics = append(resp.Topics, topicMetadata(t, view.Snapshot.States, live))
	}
	return resp
}

// topicMetadata describes t with the given states; live nil skips the
// liveness check of leaders.
func topicMetadata(t metadata.Topic, states map[metadata.TopicPartition]metadata.PartitionState, live map[int32]bool) *messages.TopicMetadata {
	tm := &messages.TopicMetadata{
		Name:       t.Name,
		TopicId:    t.ID,
		Configs:    copyConfigs(t.Configs),
		Internal:   t.Internal,
		Partitions: make([]*messages.PartitionMetadata, len(t.Replicas)),
	}
	for p, replicas := range t.Replicas {
		pm := &messages.PartitionMetadata{
			Partition: int32(p),
			Leader:    -1,
			Replicas:  append([]int32(nil), replicas...),
		}
		state, ok := states[metadata.TopicPartition{Topic: t.Name, Partition: int32(p)}]
		switch {
		case !ok:
			pm.ErrorCode = messages.ErrorCode_LEADER_NOT_AVAILABLE
		default:
			pm.LeaderEpoch = state.LeaderEpoch
			pm.Isr = append([]int32(nil), state.ISR...)
			if state.Leader < 0 || live != nil && !live[state.Leader] {
				pm.ErrorCode = messages.ErrorCode_LEADER_NOT_AVAILABLE
			} else {
				pm.Leader = state.Leader
			}
		}
		tm.Partitions[p] = pm
	}
	return tm
}

// newTopicMetadata describes a topic just created, in its initial state.
func newTopicMetadata(t metadata.Topic) *messages.TopicMetadata {
	states := make(map[metadata.TopicPartition]metadata.PartitionState, len(t.Replicas))
	for p, s := range metadata.InitialStates(t.Replicas) {
		states[metadata.TopicPartition{Topic: t.Name, Partition: int32(p)}] = s
	}
	return topicMetadata(t, states, nil)
}
