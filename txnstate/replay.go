package txnstate

import (
	"fmt"

	"github.com/sluice-mq/sluice/group"
)

// Replay rebuilds a coordinator's state from a __transaction_state
// partition: feed it every record from the start of the log in offset
// order, then read Txns. Later records replace earlier ones with the same
// key and tombstones delete, which is also what log compaction preserves.
type Replay struct {
	// Txns holds the last state of every transactional id not expired.
	Txns map[string]*Metadata
	// Read counts the records the replay was shown.
	Read int
}

// NewReplay returns an empty Replay.
func NewReplay() *Replay { return &Replay{Txns: make(map[string]*Metadata)} }

// Apply applies one record. It returns an error, and changes nothing, for
// a record it cannot decode; callers may skip such records, as Kafka does
// with keys of unknown versions.
func (r *Replay) Apply(key, value []byte) error {
	r.Read++
	id, err := DecodeKey(key)
	if err != nil {
		return err
	}
	md, err := DecodeValue(value)
	if err != nil {
		return fmt.Errorf("transactional id %q: %w", id, err)
	}
	if md == nil || md.State == Dead {
		delete(r.Txns, id)
		return nil
	}
	r.Txns[id] = md
	return nil
}

// StatePartition returns the __transaction_state partition that holds
// transactionalID's records, out of partitions: Kafka's
// Utils.abs(transactionalId.hashCode()) % partitions. It panics if
// partitions <= 0.
func StatePartition(transactionalID string, partitions int32) int32 {
	// The same rule as the consumer groups' partition.
	return group.OffsetsPartition(transactionalID, partitions)
}
