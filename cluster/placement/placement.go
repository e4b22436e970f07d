package placement

import (
	"slices"

	"github.com/sluice-mq/sluice/messages"
)

// Assign returns the replicas of partitions new partitions over nodes, each
// a list of replicationFactor distinct node ids with the preferred leader
// first. startIndex rotates the assignment (pass, say, a hash of the topic
// name so that topics do not all lead on the same node); it is taken modulo
// the number of nodes. Errors wrap messages.ErrInvalidPartitions or
// messages.ErrInvalidReplicationFactor.
func Assign(nodes []int32, partitions, replicationFactor int, startIndex int) ([][]int32, error) {
	if partitions < 1 {
		return nil, messages.Wrap(messages.ErrorCode_INVALID_PARTITIONS,
			"number of partitions must be at least 1, got %d", partitions)
	}
	return assign(nodes, partitions, replicationFactor, startIndex, 0)
}

// AssignAdditional returns the replicas of the partitions added when a topic
// with the assignment existing grows to newTotal partitions: only the new
// ones, numbered from len(existing). They keep the replication factor and
// the rotation of partition 0's leader. Errors wrap
// messages.ErrInvalidPartitions (newTotal not above the current count) or
// messages.ErrInvalidReplicationFactor (fewer nodes than replicas).
func AssignAdditional(existing [][]int32, nodes []int32, newTotal int) ([][]int32, error) {
	if len(existing) == 0 || len(existing[0]) == 0 {
		return nil, messages.Wrap(messages.ErrorCode_INVALID_PARTITIONS, "the topic has no partitions to extend")
	}
	if newTotal <= len(existing) {
		return nil, messages.Wrap(messages.ErrorCode_INVALID_PARTITIONS,
			"the topic has %d partitions; the new count %d must be larger", len(existing), newTotal)
	}
	sorted := sortedUnique(nodes)
	// Start where partition 0's leader sits (or the next node up, if it is
	// gone), as Kafka does, so the new leaders continue the rotation.
	start := 0
	for i, n := range sorted {
		if n >= existing[0][0] {
			start = i
			break
		}
	}
	return assign(sorted, newTotal-len(existing), len(existing[0]), start, len(existing))
}

// assign places count partitions numbered from firstPartition.
func assign(nodes []int32, count, replicationFactor, startIndex, firstPartition int) ([][]int32, error) {
	sorted := sortedUnique(nodes)
	n := len(sorted)
	if replicationFactor < 1 {
		return nil, messages.Wrap(messages.ErrorCode_INVALID_REPLICATION_FACTOR,
			"replication factor must be at least 1, got %d", replicationFactor)
	}
	if replicationFactor > n {
		return nil, messages.Wrap(messages.ErrorCode_INVALID_REPLICATION_FACTOR,
			"replication factor %d is larger than the %d available nodes", replicationFactor, n)
	}
	start := ((startIndex % n) + n) % n
	shift := start
	out := make([][]int32, 0, count)
	for p := firstPartition; p < firstPartition+count; p++ {
		if p > 0 && p%n == 0 {
			shift++
		}
		first := (p + start) % n
		replicas := make([]int32, 0, replicationFactor)
		replicas = append(replicas, sorted[first])
		for j := 0; j < replicationFactor-1; j++ {
			replicas = append(replicas, sorted[followerIndex(first, shift, j, n)])
		}
		out = append(out, replicas)
	}
	return out, nil
}

// followerIndex is Kafka's replicaIndex: the j-th follower sits 1..n-1
// places after the leader, never on it.
func followerIndex(first, shift, j, n int) int {
	s := 1 + (shift+j)%(n-1)
	return (first + s) % n
}

func sortedUnique(nodes []int32) []int32 {
	s := slices.Clone(nodes)
	slices.Sort(s)
	return slices.Compact(s)
}
