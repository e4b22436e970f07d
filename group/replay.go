package group

import "fmt"

// Replay rebuilds a coordinator's state from a __consumer_offsets partition:
// feed it every record from the start of the log in offset order, then read
// Groups and Offsets. Later records replace earlier ones with the same key,
// and tombstones (nil or empty values) delete, which is also what log
// compaction preserves.
type Replay struct {
	// Groups holds the last metadata of every group not deleted.
	Groups map[string]*Metadata
	// Offsets holds, by group, the last committed offset of every partition
	// not deleted.
	Offsets map[string]map[Partition]OffsetValue
	// Pending holds, by group, the transactional offset commits whose
	// transaction has no marker yet (ApplyTransactional, EndTransaction).
	Pending map[string]*PendingOffsets
	// Read counts the records the replay was shown, of every group
	// (a caller that skips other groups' records counts them too).
	Read int
}

// Partition names a topic partition in Replay.Offsets.
type Partition struct {
	Topic     string
	Partition int32
}

// NewReplay returns an empty Replay.
func NewReplay() *Replay {
	return &Replay{Groups: make(map[string]*Metadata), Offsets: make(map[string]map[Partition]OffsetValue),
		Pending: make(map[string]*PendingOffsets)}
}

// Apply applies one record. It returns an error, and changes nothing, for a
// record it cannot decode; callers may skip such records, as Kafka does
// with keys of unknown versions.
func (r *Replay) Apply(key, value []byte) error {
	kind, err := RecordKind(key)
	if err != nil {
		return err
	}
	switch kind {
	case KindGroup:
		group, err := DecodeGroupKey(key)
		if err != nil {
			return err
		}
		md, err := DecodeMetadata(value)
		if err != nil {
			return fmt.Errorf("group %q: %w", group, err)
		}
		if md == nil {
			delete(r.Groups, group)
			return nil
		}
		r.Groups[group] = md
	case KindOffset:
		k, err := DecodeOffsetKey(key)
		if err != nil {
			return err
		}
		v, err := DecodeOffsetValue(value)
		if err != nil {
			return fmt.Errorf("offset %s/%s-%d: %w", k.Group, k.Topic, k.Partition, err)
		}
		p := Partition{Topic: k.Topic, Partition: k.Partition}
		if v == nil {
			if offs := r.Offsets[k.Group]; offs != nil {
				delete(offs, p)
				if len(offs) == 0 {
					delete(r.Offsets, k.Group)
				}
			}
			return nil
		}
		offs := r.Offsets[k.Group]
		if offs == nil {
			offs = make(map[Partition]OffsetValue)
			r.Offsets[k.Group] = offs
		}
		offs[p] = *v
	}
	return nil
}

// ApplyTransactional applies one record of a transactional batch of
// producerID: an offset commit is held as pending until the producer's
// marker (EndTransaction). Other records apply as with Apply.
func (r *Replay) ApplyTransactional(producerID int64, key, value []byte) error {
	kind, err := RecordKind(key)
	if err != nil {
		return err
	}
	if kind != KindOffset {
		return r.Apply(key, value)
	}
	k, err := DecodeOffsetKey(key)
	if err != nil {
		return err
	}
	v, err := DecodeOffsetValue(value)
	if err != nil {
		return fmt.Errorf("offset %s/%s-%d: %w", k.Group, k.Topic, k.Partition, err)
	}
	pending := r.Pending[k.Group]
	if pending == nil {
		pending = NewPendingOffsets()
		r.Pending[k.Group] = pending
	}
	tp := Partition{Topic: k.Topic, Partition: k.Partition}
	if v == nil {
		pending.Delete(producerID, tp)
		return nil
	}
	pending.Add(producerID, map[Partition]OffsetValue{tp: *v})
	return nil
}

// EndTransaction applies producerID's marker: on commit its pending
// offsets, of every group, become committed; on abort they are dropped.
func (r *Replay) EndTransaction(producerID int64, commit bool) {
	for group, pending := range r.Pending {
		for tp, v := range pending.Complete(producerID, commit) {
			offs := r.Offsets[group]
			if offs == nil {
				offs = make(map[Partition]OffsetValue)
				r.Offsets[group] = offs
			}
			offs[tp] = v
		}
		if pending.Producers() == 0 {
			delete(r.Pending, group)
		}
	}
}
