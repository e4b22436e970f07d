package client

import (
	"fmt"
	"strconv"
	"time"

	"github.com/sluice-mq/sluice/client/partitioner"
	"github.com/sluice-mq/sluice/storage/batch"
)

// Acks is how many replicas must have a batch before the leader answers.
// The zero value is AcksAll, Kafka's default.
type Acks int8

// Acknowledgement levels.
const (
	AcksAll    Acks = iota // every in-sync replica (-1 on the wire)
	AcksLeader             // the leader's own append (1)
	// AcksNone (0): the broker sends no answer. Records may be lost
	// silently, and nothing slows the producer down: a producer faster
	// than the broker queues memory in the transport without bound.
	AcksNone
)

// ParseAcks parses "all", "-1", "1" or "0".
func ParseAcks(s string) (Acks, error) {
	switch s {
	case "all", "-1":
		return AcksAll, nil
	case "1", "leader":
		return AcksLeader, nil
	case "0", "none":
		return AcksNone, nil
	}
	return 0, fmt.Errorf("client: acks %q: want all, -1, 1 or 0", s)
}

// Wire is the acks value of a ProduceRequest.
func (a Acks) Wire() int32 {
	switch a {
	case AcksLeader:
		return 1
	case AcksNone:
		return 0
	}
	return -1
}

func (a Acks) String() string { return strconv.Itoa(int(a.Wire())) }

// Idempotence selects the idempotent producer: batches carry a producer
// id, epoch and per-partition sequence numbers, so the broker writes a
// batch that is retried after a lost answer or a leader change exactly
// once. The zero value is IdempotenceDefault.
type Idempotence int8

// Idempotence settings.
const (
	// IdempotenceDefault is idempotent when the rest of the config allows
	// it (Acks all, MaxInFlight at most 5, retries enabled) and plain
	// otherwise, as Kafka clients since 3.0.
	IdempotenceDefault Idempotence = iota
	// IdempotenceOn requires Acks all, MaxInFlight at most 5 and retries:
	// a config that contradicts it is refused.
	IdempotenceOn
	// IdempotenceOff sends plain batches: a retry after a lost answer can
	// write a batch twice.
	IdempotenceOff
)

func (i Idempotence) String() string {
	switch i {
	case IdempotenceDefault:
		return "default"
	case IdempotenceOn:
		return "on"
	case IdempotenceOff:
		return "off"
	}
	return fmt.Sprintf("Idempotence(%d)", int8(i))
}

// MaxIdempotentInFlight is the most requests an idempotent producer keeps
// unanswered per partition: the broker remembers the last 5 batches of
// each producer to answer their retries with the original offsets.
const MaxIdempotentInFlight = 5

// Producer defaults.
const (
	DefaultLinger           = 5 * time.Millisecond
	DefaultBatchBytes       = 64 << 10
	DefaultMaxInFlight      = 5
	DefaultMaxBufferedBytes = 32 << 20
)

// ProducerConfig configures a Producer. Zero fields take their defaults.
type ProducerConfig struct {
	Acks Acks
	// Idempotence: by default the producer is idempotent unless Acks,
	// MaxInFlight or Retries rule it out (see IdempotenceDefault). An
	// idempotent producer asks a broker for a producer id before its first
	// send, numbers the batches of every partition, sends one batch per
	// request and resends failed ones in order with the same numbers.
	Idempotence Idempotence
	// Linger is how long a partition's batch waits for more records
	// before it is sent. 0 means 5 ms; negative means no wait (batches
	// still form while earlier requests are in flight).
	Linger time.Duration
	// BatchBytes caps a batch's uncompressed size when it is sealed; a
	// record that does not fit an empty batch is refused with
	// MESSAGE_TOO_LARGE. 0 means 64 KiB. While a partition's in-flight
	// limit is used up its batches travel together: a plain producer
	// concatenates the sealed ones in one request; an idempotent one (one
	// batch per request) lets the open batch grow past BatchBytes and
	// merges batches that queued anyway, up to 256 KiB (or BatchBytes if
	// larger) within MaxRequestBytes and the topic's max.message.bytes.
	BatchBytes int
	// Compression is the codec of produced batches.
	Compression batch.Codec
	// Partitioner chooses partitions for records with AnyPartition. nil
	// means partitioner.Default(): murmur2 of the key, sticky without one.
	Partitioner partitioner.Partitioner
	// MaxInFlight bounds unanswered requests per partition. 0 means 5.
	// An idempotent producer keeps order across retries with up to
	// MaxIdempotentInFlight. Without idempotence set it to 1 for strict
	// ordering across retries: with more, a request that fails and is
	// retried can land after a later one that succeeded (Kafka without
	// idempotence behaves the same).
	MaxInFlight int
	// Retries is how often a retriable failure of a request is retried. 0
	// means the client's MaxRetries; negative means never.
	Retries int
	// RequestTimeout bounds each produce request, including the leader's
	// wait for replicas with AcksAll. 0 means the client's RequestTimeout.
	RequestTimeout time.Duration
	// MaxBufferedBytes bounds the bytes of records accepted and not yet
	// acknowledged; ProduceAsync blocks while it is reached. 0 means 32 MiB.
	MaxBufferedBytes int
	// TransactionalID makes the producer transactional (client/txn.go):
	// InitTransactions, then records between BeginTransaction and
	// CommitTransaction or AbortTransaction are written atomically. It
	// requires idempotence. "" means no transactions.
	TransactionalID string
	// TransactionTimeout is transaction.timeout.ms: the coordinator aborts
	// a transaction open longer. 0 means DefaultTransactionTimeout.
	TransactionTimeout time.Duration
	// OnProduceTiming, when set, is called with where each acknowledged
	// produce request spent its time (ProduceTiming), on the partition's
	// sender goroutine before the records' callbacks: it must be quick
	// and must not produce. Not called with AcksNone or for failed
	// requests. nil means no timing is reported.
	OnProduceTiming func(ProduceTiming)
}

func (cfg *ProducerConfig) applyDefaults(c *Client) error {
	if cfg.Acks < AcksAll || cfg.Acks > AcksNone {
		return fmt.Errorf("client: invalid acks %d", cfg.Acks)
	}
	if cfg.Linger == 0 {
		cfg.Linger = DefaultLinger
	}
	if cfg.BatchBytes == 0 {
		cfg.BatchBytes = DefaultBatchBytes
	}
	if cfg.BatchBytes < batch.HeaderSize+64 || cfg.BatchBytes > c.cfg.MaxRequestBytes {
		return fmt.Errorf("client: batch bytes %d outside [%d, MaxRequestBytes %d]",
			cfg.BatchBytes, batch.HeaderSize+64, c.cfg.MaxRequestBytes)
	}
	if _, err := batch.ParseCodec(cfg.Compression.String()); err != nil {
		return err
	}
	if cfg.Partitioner == nil {
		cfg.Partitioner = partitioner.Default()
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = c.cfg.MaxRetries
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = c.cfg.RequestTimeout
	}
	if cfg.MaxBufferedBytes == 0 {
		cfg.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if cfg.MaxInFlight < 0 || cfg.RequestTimeout < 0 || cfg.MaxBufferedBytes < 0 {
		return fmt.Errorf("client: negative producer setting")
	}
	if err := cfg.applyTransactional(); err != nil {
		return err
	}
	return cfg.resolveIdempotence()
}

// resolveIdempotence turns IdempotenceDefault into on or off, and refuses
// IdempotenceOn with a setting that cannot keep its promise (Kafka's
// ConfigException for enable.idempotence with acks or retries).
func (cfg *ProducerConfig) resolveIdempotence() error {
	var conflict string
	switch {
	case cfg.Acks != AcksAll:
		conflict = fmt.Sprintf("Acks %s (want all)", cfg.Acks)
	case cfg.MaxInFlight > MaxIdempotentInFlight:
		conflict = fmt.Sprintf("MaxInFlight %d (want at most %d)", cfg.MaxInFlight, MaxIdempotentInFlight)
	case cfg.Retries == 0:
		conflict = "no retries"
	}
	switch cfg.Idempotence {
	case IdempotenceDefault:
		cfg.Idempotence = IdempotenceOn
		if conflict != "" {
			cfg.Idempotence = IdempotenceOff
		}
	case IdempotenceOn:
		if conflict != "" {
			return fmt.Errorf("client: Idempotence on conflicts with %s; use IdempotenceOff or change it", conflict)
		}
	case IdempotenceOff:
	default:
		return fmt.Errorf("client: invalid idempotence %d", cfg.Idempotence)
	}
	return nil
}

// idempotent reports whether the resolved config is idempotent.
func (cfg *ProducerConfig) idempotent() bool { return cfg.Idempotence == IdempotenceOn }
