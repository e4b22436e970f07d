package controller

import (
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

// Default partition limits: what one node of 2 cores, a few GB of memory
// and a 20,000 open-file limit serves (docs/benchmarks.md, scale).
const (
	DefaultMaxPartitionsPerTopic = 10000
	DefaultMaxPartitionsPerNode  = 20000
)

// Limits bound the partitions the controller creates. They are checked
// before anything is written, so a refused create leaves no trace.
type Limits struct {
	// MaxPartitionsPerTopic caps a topic's partition count (create and
	// add-partitions). 0 means DefaultMaxPartitionsPerTopic.
	MaxPartitionsPerTopic int
	// MaxPartitionsPerNode caps the partition replicas assigned to one
	// node, over all topics. 0 means DefaultMaxPartitionsPerNode.
	MaxPartitionsPerNode int
}

func (l Limits) perTopic() int {
	if l.MaxPartitionsPerTopic <= 0 {
		return DefaultMaxPartitionsPerTopic
	}
	return l.MaxPartitionsPerTopic
}

func (l Limits) perNode() int {
	if l.MaxPartitionsPerNode <= 0 {
		return DefaultMaxPartitionsPerNode
	}
	return l.MaxPartitionsPerNode
}

// WithLimits sets the partition limits (zero fields: the defaults).
func WithLimits(l Limits) Option {
	return func(c *Controller) { c.limits = l }
}

// checkTopicLimit refuses a partition count above the per-topic limit.
func (c *Controller) checkTopicLimit(name string, partitions int) error {
	if max := c.limits.perTopic(); partitions > max {
		return messages.Wrap(messages.ErrorCode_INVALID_PARTITIONS,
			"topic %q: %d partitions exceed the limit of %d per topic (limits.max_partitions_per_topic)",
			name, partitions, max)
	}
	return nil
}

// checkNodeLimit refuses adding the replicas in added when a node would
// then host more than the per-node limit, counting every existing topic.
func (c *Controller) checkNodeLimit(name string, topics []metadata.Topic, added [][]int32) error {
	max := c.limits.perNode()
	count := make(map[int32]int)
	for _, t := range topics {
		for _, replicas := range t.Replicas {
			for _, n := range replicas {
				count[n]++
			}
		}
	}
	extra := make(map[int32]int)
	for _, replicas := range added {
		for _, n := range replicas {
			extra[n]++
		}
	}
	for n, e := range extra {
		if count[n]+e > max {
			return messages.Wrap(messages.ErrorCode_INVALID_PARTITIONS,
				"topic %q: node %d would host %d partition replicas (%d now, %d new), over the limit of %d per node (limits.max_partitions_per_node)",
				name, n, count[n]+e, count[n], e, max)
		}
	}
	return nil
}
