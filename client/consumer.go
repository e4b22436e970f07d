package client

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// OffsetReset says where a partition without a valid position starts.
type OffsetReset int8

// Reset policies. The zero value is ResetLatest, Kafka's default.
const (
	ResetLatest   OffsetReset = iota // the log end: only new records
	ResetEarliest                    // the log start
	ResetNone                        // no reset: Poll reports the problem
)

// ParseOffsetReset parses "latest", "earliest" or "none".
func ParseOffsetReset(s string) (OffsetReset, error) {
	switch s {
	case "latest":
		return ResetLatest, nil
	case "earliest":
		return ResetEarliest, nil
	case "none":
		return ResetNone, nil
	}
	return 0, fmt.Errorf("client: offset reset %q: want latest, earliest or none", s)
}

// Consumer defaults.
const (
	DefaultFetchMaxBytes = 1 << 20
	DefaultFetchMinBytes = 1
	DefaultFetchMaxWait  = 500 * time.Millisecond
	// DefaultFetchBufferBytes is the default ConsumerConfig.FetchBufferBytes
	// (Kafka's fetch.max.bytes is 50 MiB per request).
	DefaultFetchBufferBytes = 64 << 20
)

// ConsumerConfig configures a Consumer. Zero fields take their defaults.
type ConsumerConfig struct {
	// FetchMaxBytes is the soft cap of one partition's fetch; the broker
	// returns at least one whole batch even when larger. 0 means 1 MiB.
	FetchMaxBytes int32
	// FetchMinBytes is how much data a fetch waits for (up to
	// FetchMaxWait) before the broker answers. 0 means 1 byte.
	FetchMinBytes int32
	// FetchMaxWait is the long-poll time of a fetch. 0 means 500 ms.
	FetchMaxWait time.Duration
	// AutoOffsetReset applies to assigned partitions without a position
	// and to positions out of the log's range. With ResetNone, Poll
	// returns ErrNoOffset or an *OffsetOutOfRangeError instead.
	AutoOffsetReset OffsetReset
	// RequestTimeout bounds each request beyond the fetch's own wait. 0
	// means the client's RequestTimeout.
	RequestTimeout time.Duration
	// FetchBufferBytes bounds the fetches of all partitions together that
	// are in flight or answered and not yet polled, counted at
	// FetchMaxBytes each: at most FetchBufferBytes/FetchMaxBytes of them
	// (at least two), taken by the partitions in turn. A consumer of many
	// partitions so asks for what it can hold instead of a full fetch of
	// every partition at once. 0 means 64 MiB.
	FetchBufferBytes int64
	// IsolationLevel: ReadUncommitted (the default) returns every record;
	// ReadCommitted only those of committed transactions (and of
	// non-transactional producers), up to the last stable offset.
	// Transaction markers are never returned.
	IsolationLevel IsolationLevel
}

func (cfg *ConsumerConfig) applyDefaults(c *Client) error {
	if !cfg.IsolationLevel.valid() {
		return fmt.Errorf("client: invalid isolation level %d", cfg.IsolationLevel)
	}
	if cfg.FetchMaxBytes == 0 {
		cfg.FetchMaxBytes = DefaultFetchMaxBytes
	}
	if cfg.FetchMinBytes == 0 {
		cfg.FetchMinBytes = DefaultFetchMinBytes
	}
	if cfg.FetchMaxWait == 0 {
		cfg.FetchMaxWait = DefaultFetchMaxWait
	}
	if cfg.FetchBufferBytes == 0 {
		cfg.FetchBufferBytes = DefaultFetchBufferBytes
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = c.cfg.RequestTimeout
	}
	if cfg.FetchMaxBytes < 0 || cfg.FetchMinBytes < 0 || cfg.FetchMaxWait < 0 || cfg.RequestTimeout < 0 || cfg.FetchBufferBytes < 0 {
		return fmt.Errorf("client: negative consumer setting")
	}
	if cfg.AutoOffsetReset < ResetLatest || cfg.AutoOffsetReset > ResetNone {
		return fmt.Errorf("client: invalid offset reset %d", cfg.AutoOffsetReset)
	}
	return nil
}

// Consumer reads assigned partitions (no consumer group). Every assigned,
// unpaused partition has one long-poll fetch in flight at a time; the next
// is issued as soon as one is answered, so the next records are on their
// way while Poll decodes and the application handles the last ones.
//
// A Consumer is safe for concurrent use, but Poll is meant for one
// goroutine at a time.
type Consumer struct {
	c    *Client
	cfg  ConsumerConfig
	wake chan struct{} // capacity 1: a fetch finished

	mu    sync.Mutex // guards the following
	parts map[TopicPartition]*consumerPartition
	order []TopicPartition // the assignment, in Assign order
	// nextStart is where startFetches begins its round of order, so that
	// partitions take turns when the buffer budget is short.
	nextStart int
	closed    bool
}

// resetKind is a pending position lookup.
type resetKind int8

const (
	resetNone resetKind = iota
	resetEarliest
	resetLatest
	resetTimestamp
)

type consumerPartition struct {
	tp TopicPartition
	// position is the next offset to return, valid when reset is
	// resetNone.
	position  int64
	reset     resetKind
	timestamp int64 // for resetTimestamp, in ms
	// gen is bumped by every seek; results of fetches issued before are
	// dropped.
	gen      uint64
	paused   bool
	fetching bool
	// results are answered fetches not yet decoded, oldest first. A fetch
	// is issued as soon as the previous one is answered, from the offset
	// after its last batch (fetchOffset), so transfer and decoding overlap.
	// Invariant: len(results) <= maxBufferedFetches.
	results []*fetchResult
	// fetchOffset is where the next fetch starts: the position, or past
	// the batches of answers not decoded yet.
	fetchOffset int64
	// failures counts consecutive retriable fetch failures; retryAt holds
	// the next fetch back after one.
	failures int
	retryAt  time.Time
	// fetchEpoch is the leader epoch the last successful fetch was sent
	// in, lastEpoch the leader epoch of the last batch fetched since the
	// last seek (-1: none); a newer epoch in the metadata makes the next
	// fetch validate the position first (consumer_validate.go). posEpoch
	// is the leader epoch of the record before the position, which a
	// commit of the position carries (-1: unknown).
	fetchEpoch, lastEpoch, posEpoch int32
}

// NewConsumer returns a consumer with nothing assigned.
func NewConsumer(c *Client, cfg ConsumerConfig) (*Consumer, error) {
	if err := cfg.applyDefaults(c); err != nil {
		return nil, err
	}
	return &Consumer{
		c:     c,
		cfg:   cfg,
		wake:  make(chan struct{}, 1),
		parts: make(map[TopicPartition]*consumerPartition),
	}, nil
}

func (cs *Consumer) initialReset() resetKind {
	switch cs.cfg.AutoOffsetReset {
	case ResetEarliest:
		return resetEarliest
	case ResetLatest:
		return resetLatest
	}
	return resetNone
}

// Assign replaces the assignment with tps. Partitions kept from the old
// assignment keep their positions; new ones start per AutoOffsetReset
// unless a Seek comes before the next Poll. With ResetNone a new
// partition has no position until Seek.
func (cs *Consumer) Assign(tps ...TopicPartition) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	parts := make(map[TopicPartition]*consumerPartition, len(tps))
	cs.order = cs.order[:0]
	for _, tp := range tps {
		if _, dup := parts[tp]; dup {
			continue
		}
		cp := cs.parts[tp]
		if cp == nil {
			cp = &consumerPartition{tp: tp, position: -1, reset: cs.initialReset(), fetchEpoch: -1, lastEpoch: -1, posEpoch: -1}
		}
		parts[tp] = cp
		cs.order = append(cs.order, tp)
	}
	for tp, cp := range cs.parts {
		if parts[tp] == nil {
			cp.gen++ // orphan its fetch
		}
	}
	cs.parts = parts
}

// Assignment returns the assigned partitions.
func (cs *Consumer) Assignment() []TopicPartition {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return slices.Clone(cs.order)
}

// with runs fn on each of tps under the lock; an unassigned one is an
// ErrNotAssigned error.
func (cs *Consumer) with(tps []TopicPartition, fn func(*consumerPartition)) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, tp := range tps {
		cp := cs.parts[tp]
		if cp == nil {
			return fmt.Errorf("%w: %s/%d", ErrNotAssigned, tp.Topic, tp.Partition)
		}
		fn(cp)
	}
	cs.notify()
	return nil
}

// seek discards cp's fetch and buffered answer. Called with cs.mu held.
func (cp *consumerPartition) seek(kind resetKind, position, ts int64) {
	cp.gen++
	cp.results = nil
	cp.reset, cp.position, cp.timestamp = kind, position, ts
	cp.fetchOffset = position
	cp.failures, cp.retryAt = 0, time.Time{}
	cp.lastEpoch, cp.posEpoch = -1, -1
}

// Seek sets the next offset Poll returns for tp.
func (cs *Consumer) Seek(tp TopicPartition, offset int64) error {
	return cs.with([]TopicPartition{tp}, func(cp *consumerPartition) { cp.seek(resetNone, offset, 0) })
}

// SeekToBeginning moves tps to their log start, looked up by the next Poll.
func (cs *Consumer) SeekToBeginning(tps ...TopicPartition) error {
	return cs.with(tps, func(cp *consumerPartition) { cp.seek(resetEarliest, -1, 0) })
}

// SeekToEnd moves tps to their log end, looked up by the next Poll.
func (cs *Consumer) SeekToEnd(tps ...TopicPartition) error {
	return cs.with(tps, func(cp *consumerPartition) { cp.seek(resetLatest, -1, 0) })
}

// SeekToTimestamp moves tp to its first record with a timestamp >= ts, or
// to the log end when there is none; looked up by the next Poll.
func (cs *Consumer) SeekToTimestamp(tp TopicPartition, ts time.Time) error {
	return cs.with([]TopicPartition{tp}, func(cp *consumerPartition) { cp.seek(resetTimestamp, -1, ts.UnixMilli()) })
}

// Pause stops fetching tps; Poll returns nothing of them until Resume.
func (cs *Consumer) Pause(tps ...TopicPartition) error {
	return cs.with(tps, func(cp *consumerPartition) { cp.paused = true })
}

// Resume undoes Pause.
func (cs *Consumer) Resume(tps ...TopicPartition) error {
	return cs.with(tps, func(cp *consumerPartition) { cp.paused = false })
}

// Position returns the offset of the next record Poll returns for tp,
// looking it up first when a seek or reset is pending.
func (cs *Consumer) Position(ctx context.Context, tp TopicPartition) (int64, error) {
	if err := cs.resolve(ctx, []TopicPartition{tp}); err != nil {
		return -1, err
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cp := cs.parts[tp]
	if cp == nil {
		return -1, fmt.Errorf("%w: %s/%d", ErrNotAssigned, tp.Topic, tp.Partition)
	}
	if cp.reset != resetNone || cp.position < 0 {
		return -1, fmt.Errorf("%w: %s/%d", ErrNoOffset, tp.Topic, tp.Partition)
	}
	return cp.position, nil
}

// Close stops the consumer: Poll returns ErrClosed from then on, no new
// fetch starts and fetches in flight are abandoned (each ends with its own
// timeout). A plain consumer has nothing
// to flush, so Close does not block; ctx is taken for symmetry with the
// group consumer and the producer. It returns nil.
func (cs *Consumer) Close(ctx context.Context) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.closed = true
	for _, cp := range cs.parts {
		cp.gen++
	}
	cs.notify()
	return nil
}

// notify wakes a waiting Poll. Safe with or without cs.mu held.
func (cs *Consumer) notify() {
	select {
	case cs.wake <- struct{}{}:
	default:
	}
}
