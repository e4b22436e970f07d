package epochcache

import (
	"errors"
	"fmt"
	"slices"
	"sort"
)

// Undefined is the epoch and offset EndOffsetFor returns when it knows
// nothing to answer with (Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET).
const Undefined = -1

// ErrNonMonotonic means Assign was asked to go back: an epoch lower than
// the latest, or a start offset below the latest epoch's.
var ErrNonMonotonic = errors.New("epochcache: epoch or start offset goes backwards")

// ErrInvalidEntry means Assign got a negative epoch or start offset.
var ErrInvalidEntry = errors.New("epochcache: negative epoch or start offset")

// Entry is a leader epoch and the offset of its first record.
type Entry struct {
	Epoch       int32
	StartOffset int64
}

// Cache is an ordered leader-epoch cache. The zero value is empty and ready
// to use. It is not safe for concurrent use.
type Cache struct {
	// Invariant: epochs strictly increase and start offsets strictly
	// increase; every value is >= 0.
	entries []Entry
}

// New returns an empty cache.
func New() *Cache { return &Cache{} }

// FromEntries builds a cache from entries, which must satisfy the cache's
// invariant (strictly increasing epochs and start offsets, none negative).
func FromEntries(entries []Entry) (*Cache, error) {
	for i, e := range entries {
		if e.Epoch < 0 || e.StartOffset < 0 {
			return nil, fmt.Errorf("%w: entry %d is %d@%d", ErrInvalidEntry, i, e.Epoch, e.StartOffset)
		}
		if i > 0 && (e.Epoch <= entries[i-1].Epoch || e.StartOffset <= entries[i-1].StartOffset) {
			return nil, fmt.Errorf("%w: entry %d is %d@%d after %d@%d", ErrNonMonotonic, i,
				e.Epoch, e.StartOffset, entries[i-1].Epoch, entries[i-1].StartOffset)
		}
	}
	return &Cache{entries: slices.Clone(entries)}, nil
}

// Assign records that epoch's records begin at startOffset (or earlier).
// Call it for every batch appended to the log with the batch's partition
// leader epoch and base offset, and when a replica becomes leader with the
// new epoch and its log end offset.
//
//   - The latest epoch again with a start offset at or after its recorded
//     one is a no-op: the epoch already began.
//   - A higher epoch is appended. If it starts at the same offset as the
//     latest epoch, the latest epoch never had a record and is replaced, as
//     Kafka does, so start offsets stay strictly increasing.
//   - A lower epoch, the latest epoch with an earlier start, or a higher
//     epoch starting before the latest one fails with ErrNonMonotonic;
//     the cache is unchanged. Truncate first (TruncateFromEnd) to rewrite
//     history.
func (c *Cache) Assign(epoch int32, startOffset int64) error {
	if epoch < 0 || startOffset < 0 {
		return fmt.Errorf("%w: %d@%d", ErrInvalidEntry, epoch, startOffset)
	}
	latest, ok := c.latest()
	switch {
	case !ok:
	case epoch == latest.Epoch && startOffset >= latest.StartOffset:
		return nil
	case epoch <= latest.Epoch || startOffset < latest.StartOffset:
		return fmt.Errorf("%w: assign %d@%d after %d@%d", ErrNonMonotonic,
			epoch, startOffset, latest.Epoch, latest.StartOffset)
	case startOffset == latest.StartOffset:
		c.entries = c.entries[:len(c.entries)-1]
	}
	c.entries = append(c.entries, Entry{Epoch: epoch, StartOffset: startOffset})
	return nil
}

// Latest returns the highest epoch and its start offset; ok is false when
// the cache is empty.
func (c *Cache) Latest() (epoch int32, startOffset int64, ok bool) {
	e, ok := c.latest()
	return e.Epoch, e.StartOffset, ok
}

// Earliest returns the lowest epoch and its start offset; ok is false when
// the cache is empty.
func (c *Cache) Earliest() (epoch int32, startOffset int64, ok bool) {
	if len(c.entries) == 0 {
		return 0, 0, false
	}
	return c.entries[0].Epoch, c.entries[0].StartOffset, true
}

func (c *Cache) latest() (Entry, bool) {
	if len(c.entries) == 0 {
		return Entry{}, false
	}
	return c.entries[len(c.entries)-1], true
}

// Len returns the number of epochs in the cache.
func (c *Cache) Len() int { return len(c.entries) }

// Entries returns a copy of the entries, oldest epoch first.
func (c *Cache) Entries() []Entry { return slices.Clone(c.entries) }

// EndOffsetFor answers a follower's OffsetForLeaderEpoch request on the
// leader: the end offset (exclusive) of requestedEpoch in this log, i.e.
// the start offset of the first higher epoch. It follows Kafka's
// LeaderEpochFileCache.endOffsetFor:
//
//   - requestedEpoch is the latest epoch: (requestedEpoch, logEndOffset).
//   - requestedEpoch is unknown but lower than the latest: the largest known
//     epoch below it and the start of the first epoch above it.
//   - requestedEpoch is below every known epoch (the leader deleted all its
//     data): (requestedEpoch, start offset of the earliest epoch).
//   - requestedEpoch is Undefined or above the latest, or the cache is
//     empty: (Undefined, Undefined).
func (c *Cache) EndOffsetFor(requestedEpoch int32, logEndOffset int64) (epoch int32, endOffset int64) {
	latest, ok := c.latest()
	if !ok || requestedEpoch == Undefined {
		return Undefined, Undefined
	}
	if requestedEpoch == latest.Epoch {
		return requestedEpoch, logEndOffset
	}
	// higher is the first entry with an epoch above requestedEpoch.
	higher := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].Epoch > requestedEpoch })
	if higher == len(c.entries) {
		return Undefined, Undefined
	}
	if higher == 0 {
		return requestedEpoch, c.entries[0].StartOffset
	}
	return c.entries[higher-1].Epoch, c.entries[higher].StartOffset
}

// EpochForOffset returns the epoch the record at offset belongs to: the
// latest epoch starting at or before it. ok is false when offset precedes
// every epoch or the cache is empty.
func (c *Cache) EpochForOffset(offset int64) (epoch int32, ok bool) {
	i := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].StartOffset > offset })
	if i == 0 {
		return Undefined, false
	}
	return c.entries[i-1].Epoch, true
}

// TruncateFromEnd drops the epochs that start at or after endOffset: the
// log was truncated to end there. A negative endOffset is ignored.
func (c *Cache) TruncateFromEnd(endOffset int64) {
	if endOffset < 0 {
		return
	}
	i := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].StartOffset >= endOffset })
	c.entries = c.entries[:i]
}

// TruncateFromStart drops the epochs that end at or before startOffset: the
// log start advanced to it. The epoch covering startOffset is kept with its
// start moved up to startOffset. A negative startOffset is ignored.
func (c *Cache) TruncateFromStart(startOffset int64) {
	if startOffset < 0 {
		return
	}
	// covering is the last entry starting at or before startOffset.
	covering := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].StartOffset > startOffset }) - 1
	if covering < 0 {
		return
	}
	c.entries[covering].StartOffset = startOffset
	c.entries = slices.Delete(c.entries, 0, covering)
}

// Clear removes every epoch.
func (c *Cache) Clear() { c.entries = c.entries[:0] }
