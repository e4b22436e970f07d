package txn

import (
	"log/slog"
	"time"

	"github.com/sluice-mq/sluice/txnstate"
)

// Defaults, Kafka's where Kafka has the setting.
const (
	// DefaultStatePartitions is transaction.state.log.num.partitions.
	DefaultStatePartitions = 50
	// DefaultStateReplicationFactor is
	// transaction.state.log.replication.factor; it is lowered to the
	// number of live nodes when fewer are up.
	DefaultStateReplicationFactor = 3
	// DefaultStateSegmentBytes is transaction.state.log.segment.bytes.
	DefaultStateSegmentBytes = 100 << 20
	// DefaultWriteTimeout bounds one append to __transaction_state.
	DefaultWriteTimeout = 5 * time.Second
	// DefaultLoadFetchBytes is transactions.load.buffer.size.
	DefaultLoadFetchBytes = 5 << 20
	// DefaultMarkerTimeout bounds one marker write (or leader lookup).
	DefaultMarkerTimeout = 5 * time.Second
	// DefaultMarkerRetryBackoff is the wait before writing a marker again
	// after a failure.
	DefaultMarkerRetryBackoff = 100 * time.Millisecond
)

// Config holds the coordinator settings shared by every transaction actor
// of a node. The zero value is usable: every zero field means its default.
type Config struct {
	// Txn shapes the protocol (maximum timeout, id expiration); the zero
	// value means txnstate.DefaultConfig().
	Txn txnstate.Config
	// StatePartitions and StateReplicationFactor size __transaction_state
	// when it is created.
	StatePartitions        int32
	StateReplicationFactor int32
	// StateSegmentBytes is the segment.bytes of __transaction_state.
	StateSegmentBytes int64
	// WriteTimeout bounds one append to __transaction_state.
	WriteTimeout time.Duration
	// LoadFetchBytes is the fetch size used while loading.
	LoadFetchBytes int32
	// MarkerTimeout bounds one marker write; MarkerRetryBackoff is the
	// wait before the next attempt after a failure.
	MarkerTimeout      time.Duration
	MarkerRetryBackoff time.Duration
	// Markers writes transaction markers; nil means LeaderMarkers (a
	// WriteTxnMarker request to each partition's leader).
	Markers MarkerWriter
	// Now returns the current time; nil means time.Now. Tests move it.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Txn == (txnstate.Config{}) {
		c.Txn = txnstate.DefaultConfig()
	}
	if c.StatePartitions <= 0 {
		c.StatePartitions = DefaultStatePartitions
	}
	if c.StateReplicationFactor <= 0 {
		c.StateReplicationFactor = DefaultStateReplicationFactor
	}
	if c.StateSegmentBytes <= 0 {
		c.StateSegmentBytes = DefaultStateSegmentBytes
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.LoadFetchBytes <= 0 {
		c.LoadFetchBytes = DefaultLoadFetchBytes
	}
	if c.MarkerTimeout <= 0 {
		c.MarkerTimeout = DefaultMarkerTimeout
	}
	if c.MarkerRetryBackoff <= 0 {
		c.MarkerRetryBackoff = DefaultMarkerRetryBackoff
	}
	if c.Markers == nil {
		c.Markers = LeaderMarkers{Timeout: c.MarkerTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
