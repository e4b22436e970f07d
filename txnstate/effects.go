package txnstate

import "time"

// RequestID is chosen by the caller for each request and echoed in its
// Reply, so the caller can route an answer that comes after a persist.
// The state machine never interprets it.
type RequestID uint64

// InitRequest is an InitProducerId with a transactional id.
type InitRequest struct {
	RequestID RequestID
	// Timeout is transaction.timeout.ms.
	Timeout time.Duration
	// ProducerID and ProducerEpoch are the producer's current session,
	// NoProducerID and NoProducerEpoch for a new producer. A producer that
	// knows its id and epoch sends them to bump its epoch after an
	// abortable error (KIP-360): it is fenced if another instance took
	// over meanwhile.
	ProducerID    int64
	ProducerEpoch int16
}

// AddPartitionsRequest is an AddPartitionsToTxn, or an AddOffsetsToTxn,
// which adds the group's __consumer_offsets partition.
type AddPartitionsRequest struct {
	RequestID     RequestID
	ProducerID    int64
	ProducerEpoch int16
	Partitions    []Partition
}

// EndRequest is an EndTxn.
type EndRequest struct {
	RequestID     RequestID
	ProducerID    int64
	ProducerEpoch int16
	Commit        bool
}

// Reply answers the request with the same RequestID.
type Reply struct {
	RequestID RequestID
	// Err is nil or one of the messages package's errors (Kafka's codes).
	Err error
	// ProducerID and ProducerEpoch answer an InitRequest; NoProducerID and
	// NoProducerEpoch with an error.
	ProducerID    int64
	ProducerEpoch int16
}

// Persist asks the caller to append the transactional id's record:
// key EncodeKey(id), value Metadata.Encode(), or a tombstone (nil value)
// when Metadata is nil. The caller reports the outcome with PersistDone.
type Persist struct {
	// Seq identifies the write; pass it back to PersistDone.
	Seq      uint64
	Metadata *Metadata
}

// Markers asks the caller to write a control batch (COMMIT or ABORT) for
// the producer to every partition, retrying each until it is written, and
// to report each with MarkerWritten. The partition of a deleted topic may
// be reported written too: it holds nothing to resolve any more.
type Markers struct {
	ProducerID    int64
	ProducerEpoch int16
	Commit        bool
	Partitions    []Partition
}

// Effects is what a call asks the caller to carry out, in order: write
// Persist (if any), deliver Replies, write Markers, and call Tick at
// Deadline.
type Effects struct {
	Replies []Reply
	// Persist is nil when nothing needs writing. At most one write is
	// outstanding at a time.
	Persist *Persist
	// Markers is set when a decided transaction's markers are to be
	// written: after PrepareCommit or PrepareAbort is persisted, and on
	// Load of such a state (a coordinator that failed over mid-commit).
	Markers *Markers
	// NeedProducerID asks for a new producer id: call InitProducerID again
	// with the same request and a newly allocated id.
	NeedProducerID bool
	// Deadline is when Tick must next be called; zero means no timer is
	// needed. It replaces any deadline returned earlier.
	Deadline time.Time
}
