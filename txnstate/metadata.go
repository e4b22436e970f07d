package txnstate

import (
	"cmp"
	"slices"
	"time"
)

// NoProducerID and NoProducerEpoch are Kafka's "none" values
// (RecordBatch.NO_PRODUCER_ID, NO_PRODUCER_EPOCH).
const (
	NoProducerID    int64 = -1
	NoProducerEpoch int16 = -1
)

// Partition names a topic partition of a transaction.
type Partition struct {
	Topic     string
	Partition int32
}

func comparePartitions(a, b Partition) int {
	if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

// sortPartitions sorts ps and drops duplicates; it returns nil for none.
func sortPartitions(ps []Partition) []Partition {
	if len(ps) == 0 {
		return nil
	}
	slices.SortFunc(ps, comparePartitions)
	return slices.Compact(ps)
}

// Metadata is the state of one transactional id, as its
// __transaction_state record stores it (Kafka's TransactionMetadata).
type Metadata struct {
	// ProducerID and ProducerEpoch identify the producer session; the
	// epoch is NoProducerEpoch only before the first InitProducerId
	// completed.
	ProducerID    int64
	ProducerEpoch int16
	// LastProducerID and LastProducerEpoch let a producer that retries an
	// InitProducerId whose answer it lost get the same answer again
	// (KIP-360). Kafka does not persist them in value version 0: they
	// read back as NoProducerID and NoProducerEpoch.
	LastProducerID    int64
	LastProducerEpoch int16
	// Timeout is transaction.timeout.ms: an Ongoing transaction older
	// than this is aborted. Whole milliseconds on the wire.
	Timeout time.Duration
	State   State
	// Partitions of the open transaction, sorted, without duplicates; nil
	// unless State is Ongoing, PrepareCommit or PrepareAbort.
	Partitions []Partition
	// StartTimestamp is when the transaction started (its first partition
	// was added), Unix milliseconds; -1 when none is open.
	StartTimestamp int64
	// LastUpdateTimestamp is the time of the last transition, Unix
	// milliseconds; expiry of the transactional id counts from it.
	LastUpdateTimestamp int64
}

// Clone returns a deep copy of md.
func (md *Metadata) Clone() *Metadata {
	c := *md
	c.Partitions = slices.Clone(md.Partitions)
	return &c
}

// HasPartition reports whether p is part of the open transaction.
func (md *Metadata) HasPartition(p Partition) bool {
	_, ok := slices.BinarySearchFunc(md.Partitions, p, comparePartitions)
	return ok
}

// StartTime returns StartTimestamp as a time; zero when none is open.
func (md *Metadata) StartTime() time.Time {
	if md.StartTimestamp < 0 {
		return time.Time{}
	}
	return time.UnixMilli(md.StartTimestamp)
}

// LastUpdateTime returns LastUpdateTimestamp as a time.
func (md *Metadata) LastUpdateTime() time.Time { return time.UnixMilli(md.LastUpdateTimestamp) }

// EpochExhausted reports whether epoch is too high to be bumped for a
// client: Kafka keeps MaxInt16 free so that the coordinator can always
// fence, and gives the producer a new id instead.
func EpochExhausted(epoch int16) bool { return epoch >= 1<<15-2 }
