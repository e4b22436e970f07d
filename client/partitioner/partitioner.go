package partitioner

import "math/rand/v2"

// Partitioner creates the per-topic partitioning state of a producer.
type Partitioner interface {
	ForTopic(topic string) TopicPartitioner
}

// TopicPartitioner picks partitions for one topic. A producer serializes
// its calls, so implementations need no locking.
type TopicPartitioner interface {
	// Partition returns a partition in [0, partitions) for a record with
	// key; a nil key is Kafka's null key. partitions is at least 1.
	Partition(key []byte, partitions int) int
	// OnBatchSealed tells the partitioner that the open batch of partition
	// was closed (full, linger expired or flushed), so the next record
	// starts a new batch wherever it goes.
	OnBatchSealed(partition int)
}

// Default returns Kafka's default partitioner: murmur2 for keyed records,
// sticky for keyless ones.
func Default() Partitioner { return Hash(Sticky()) }

// Hash returns a partitioner that places keyed records by murmur2 and
// delegates keyless records to fallback.
func Hash(fallback Partitioner) Partitioner { return hashPartitioner{fallback} }

type hashPartitioner struct{ fallback Partitioner }

func (h hashPartitioner) ForTopic(topic string) TopicPartitioner {
	return &hashTopic{fallback: h.fallback.ForTopic(topic)}
}

type hashTopic struct{ fallback TopicPartitioner }

func (h *hashTopic) Partition(key []byte, partitions int) int {
	if key == nil {
		return h.fallback.Partition(nil, partitions)
	}
	return KeyPartition(key, partitions)
}

func (h *hashTopic) OnBatchSealed(partition int) { h.fallback.OnBatchSealed(partition) }

// Sticky returns a partitioner that keeps every record on one partition
// until that partition's batch is sealed, then moves to a different
// partition chosen at random. Keys are ignored.
func Sticky() Partitioner { return stickyPartitioner{} }

type stickyPartitioner struct{}

func (stickyPartitioner) ForTopic(string) TopicPartitioner { return &stickyTopic{current: -1} }

// stickyTopic holds the partition in use.
// Invariant: current is -1 (none chosen yet, or the sticky batch was
// sealed) or the partition last returned by Partition.
type stickyTopic struct {
	current  int
	previous int // the partition whose batch was sealed last, -1 if none
}

func (s *stickyTopic) Partition(_ []byte, partitions int) int {
	if s.current >= 0 && s.current < partitions {
		return s.current
	}
	next := rand.IntN(partitions)
	if partitions > 1 && next == s.previous {
		// Pick uniformly among the others.
		next = (next + 1 + rand.IntN(partitions-1)) % partitions
	}
	s.current = next
	return next
}

func (s *stickyTopic) OnBatchSealed(partition int) {
	if partition == s.current {
		s.previous, s.current = s.current, -1
	}
}

// RoundRobin returns a partitioner that cycles through the partitions one
// record at a time, ignoring keys.
func RoundRobin() Partitioner { return roundRobinPartitioner{} }

type roundRobinPartitioner struct{}

func (roundRobinPartitioner) ForTopic(string) TopicPartitioner { return &roundRobinTopic{} }

type roundRobinTopic struct{ next int }

func (r *roundRobinTopic) Partition(_ []byte, partitions int) int {
	p := r.next % partitions
	r.next = p + 1
	return p
}

func (r *roundRobinTopic) OnBatchSealed(int) {}
