package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

// ReassignmentsPrefix is the store prefix of the reassignments in progress:
// reassignments/<topic>/<partition> holds a reassignment record. Snapshots
// ignore these keys; the controller's passes read them.
const ReassignmentsPrefix = "reassignments/"

// reassignment is the persisted record of a partition moving to Target.
// Expanded is set once the topic lists the old and new replicas and the
// leader has started a new epoch with them, so that any controller can
// carry the move on from where it stopped.
type reassignment struct {
	TopicID  string  `json:"topic_id"`
	Target   []int32 `json:"target"`
	Expanded bool    `json:"expanded,omitempty"`

	tp      metadata.TopicPartition
	version uint64
}

func reassignmentKey(tp metadata.TopicPartition) string {
	return ReassignmentsPrefix + tp.Topic + "/" + strconv.Itoa(int(tp.Partition))
}

// ReassignPartition records that a partition's replicas move to req's
// list. The controller's passes (AdvanceReassignments) then add the new
// replicas as followers (not in the ISR), with a new leader epoch that
// pushes to them, and finish the move once all of them are in the ISR.
// The list must name distinct live members, as many as the topic's
// replication factor. A list with the same nodes as now only reorders them
// (the first is the preferred leader). A partition already moving fails
// with REASSIGNMENT_IN_PROGRESS.
func (c *Controller) ReassignPartition(ctx context.Context, req *messages.ReassignPartitionRequest) *messages.ReassignPartitionResponse {
	tp := metadata.TopicPartition{Topic: req.GetTopic(), Partition: req.GetPartition()}
	target := slices.Clone(req.GetReplicas())
	err := c.retry(ctx, func() error {
		topic, err := metadata.GetTopic(ctx, c.store, tp.Topic)
		if err != nil {
			return err
		}
		moving, err := topicReassignments(ctx, c.store, topic.Name)
		if err != nil {
			return err
		}
		// A record of an earlier topic of the same name is overwritten.
		stale, ok := moving[tp.Partition]
		if ok && stale.TopicID == topic.ID {
			return messages.Wrap(messages.ErrorCode_REASSIGNMENT_IN_PROGRESS, "partition %s is already being reassigned", tp)
		}
		if err := c.validateTarget(ctx, topic, moving, tp, target); err != nil {
			return err
		}
		current := topic.Replicas[tp.Partition]
		if sameSet(current, target) {
			if slices.Equal(current, target) {
				return nil
			}
			return writeReplicas(ctx, c.store, topic, tp.Partition, target)
		}
		// The controller's passes alone carry the move on: one writer per
		// step, started at once by the controller's metadata watch.
		_, err = putReassignment(ctx, c.store, reassignment{TopicID: topic.ID, Target: target, tp: tp, version: stale.version})
		return err
	})
	if err != nil {
		return &messages.ReassignPartitionResponse{ErrorCode: codeOf(err), ErrorMessage: errorMessage(err)}
	}
	return &messages.ReassignPartitionResponse{}
}

// validateTarget checks a target replica list against the topic and the
// live members.
func (c *Controller) validateTarget(ctx context.Context, topic metadata.Topic, moving map[int32]reassignment, tp metadata.TopicPartition, target []int32) error {
	if tp.Partition < 0 || int(tp.Partition) >= topic.Partitions() {
		return messages.Wrap(messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "partition %s does not exist", tp)
	}
	if len(target) == 0 {
		return messages.Wrap(messages.ErrorCode_INVALID_REPLICA_ASSIGNMENT, "partition %s: no replicas given", tp)
	}
	if rf := replicationFactor(topic, moving); len(target) != rf {
		return messages.Wrap(messages.ErrorCode_INVALID_REPLICA_ASSIGNMENT,
			"partition %s: %d replicas given, the topic's replication factor is %d", tp, len(target), rf)
	}
	live, err := c.liveNodes(ctx)
	if err != nil {
		return err
	}
	for i, n := range target {
		if slices.Contains(target[:i], n) {
			return messages.Wrap(messages.ErrorCode_INVALID_REPLICA_ASSIGNMENT, "partition %s: node %d listed twice", tp, n)
		}
		if !slices.Contains(live, n) {
			return messages.Wrap(messages.ErrorCode_INVALID_REPLICA_ASSIGNMENT, "partition %s: node %d is not a live member", tp, n)
		}
	}
	return nil
}

// replicationFactor is the topic's replica count per partition; a
// partition being reassigned lists its old and new replicas for a while and
// counts with its target.
func replicationFactor(t metadata.Topic, moving map[int32]reassignment) int {
	for p, r := range t.Replicas {
		if rec, ok := moving[int32(p)]; ok && rec.TopicID == t.ID {
			return len(rec.Target)
		}
		return len(r)
	}
	return 0
}

// sameSet reports whether a and b hold the same node ids.
func sameSet(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for _, n := range a {
		if !slices.Contains(b, n) {
			return false
		}
	}
	return true
}

// union returns a followed by the ids of b it lacks.
func union(a, b []int32) []int32 {
	out := slices.Clone(a)
	for _, n := range b {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// intersect returns the ids of a that are in b, in a's order.
func intersect(a, b []int32) []int32 {
	out := make([]int32, 0, len(a))
	for _, n := range a {
		if slices.Contains(b, n) {
			out = append(out, n)
		}
	}
	return out
}

// writeReplicas replaces one partition's replica list by CAS against the
// topic's version. It writes the topic as is rather than through
// metadata.UpdateTopic, whose check that every partition has as many
// replicas as the others a partition in the middle of a move breaks.
func writeReplicas(ctx context.Context, st cluster.Store, topic metadata.Topic, partition int32, replicas []int32) error {
	t := topic.Clone()
	t.Replicas[partition] = slices.Clone(replicas)
	value, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("controller: encode topic %q: %w", t.Name, err)
	}
	if _, err := st.CAS(ctx, metadata.TopicKey(t.Name), value, topic.Version); err != nil {
		return fmt.Errorf("controller: write replicas of %s/%d: %w", t.Name, partition, err)
	}
	return nil
}

// putReassignment writes rec when its key is at rec.version (0: absent).
func putReassignment(ctx context.Context, st cluster.Store, rec reassignment) (uint64, error) {
	value, err := json.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("controller: encode reassignment of %s: %w", rec.tp, err)
	}
	v, err := st.CAS(ctx, reassignmentKey(rec.tp), value, rec.version)
	if err != nil {
		return 0, fmt.Errorf("controller: write reassignment of %s: %w", rec.tp, err)
	}
	return v, nil
}

// topicReassignments returns the reassignment records of one topic by
// partition.
func topicReassignments(ctx context.Context, st cluster.Store, topic string) (map[int32]reassignment, error) {
	recs, err := listReassignments(ctx, st, ReassignmentsPrefix+topic+"/")
	if err != nil {
		return nil, err
	}
	out := make(map[int32]reassignment, len(recs))
	for _, r := range recs {
		if r.tp.Topic == topic {
			out[r.tp.Partition] = r
		}
	}
	return out, nil
}

// listReassignments reads the reassignment records under prefix.
func listReassignments(ctx context.Context, st cluster.Store, prefix string) ([]reassignment, error) {
	kvs, _, err := st.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("controller: list reassignments: %w", err)
	}
	out := make([]reassignment, 0, len(kvs))
	for _, kv := range kvs {
		rest := strings.TrimPrefix(kv.Key, ReassignmentsPrefix)
		slash := strings.LastIndexByte(rest, '/')
		p, perr := strconv.ParseInt(rest[slash+1:], 10, 32)
		var rec reassignment
		if slash <= 0 || perr != nil || json.Unmarshal(kv.Value, &rec) != nil {
			return nil, fmt.Errorf("%w: %s", metadata.ErrMalformed, kv.Key)
		}
		rec.tp = metadata.TopicPartition{Topic: rest[:slash], Partition: int32(p)}
		rec.version = kv.Version
		out = append(out, rec)
	}
	return out, nil
}
