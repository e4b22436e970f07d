package client

import (
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// Codec is a batch compression codec (ProducerConfig.Compression), the
// same type as storage/batch's, so callers need not import it.
type Codec = batch.Codec

// The compression codecs of Kafka's v2 format.
const (
	CodecNone   = batch.CodecNone
	CodecGzip   = batch.CodecGzip
	CodecSnappy = batch.CodecSnappy
	CodecLZ4    = batch.CodecLZ4
	CodecZstd   = batch.CodecZstd
)

// ParseCodec maps a compression.type name ("none", "gzip", "snappy",
// "lz4", "zstd"; "uncompressed" is an alias of none) to its Codec.
func ParseCodec(name string) (Codec, error) { return batch.ParseCodec(name) }

// Error is a broker error carrying a Kafka error code (messages.Error).
// Errors with the same code match under errors.Is, so the sentinels below
// test a received error whatever its message.
type Error = messages.Error

// IsRetriable reports whether err carries an error code worth retrying
// (Kafka's classification; the client retries these itself).
func IsRetriable(err error) bool { return messages.IsRetriable(err) }

// Broker error sentinels (the same values as package messages'), for
// errors.Is.
var (
	ErrUnknownServerError       = messages.ErrUnknownServerError
	ErrOffsetOutOfRange         = messages.ErrOffsetOutOfRange
	ErrCorruptMessage           = messages.ErrCorruptMessage
	ErrUnknownTopicOrPartition  = messages.ErrUnknownTopicOrPartition
	ErrLeaderNotAvailable       = messages.ErrLeaderNotAvailable
	ErrNotLeaderOrFollower      = messages.ErrNotLeaderOrFollower
	ErrRequestTimedOut          = messages.ErrRequestTimedOut
	ErrMessageTooLarge          = messages.ErrMessageTooLarge
	ErrNetworkException         = messages.ErrNetworkException
	ErrCoordinatorNotAvailable  = messages.ErrCoordinatorNotAvailable
	ErrNotCoordinator           = messages.ErrNotCoordinator
	ErrInvalidTopic             = messages.ErrInvalidTopic
	ErrNotEnoughReplicas        = messages.ErrNotEnoughReplicas
	ErrIllegalGeneration        = messages.ErrIllegalGeneration
	ErrUnknownMemberID          = messages.ErrUnknownMemberID
	ErrRebalanceInProgress      = messages.ErrRebalanceInProgress
	ErrInvalidTimestamp         = messages.ErrInvalidTimestamp
	ErrTopicAlreadyExists       = messages.ErrTopicAlreadyExists
	ErrInvalidPartitions        = messages.ErrInvalidPartitions
	ErrInvalidReplicationFactor = messages.ErrInvalidReplicationFactor
	ErrInvalidConfig            = messages.ErrInvalidConfig
	ErrInvalidRequest           = messages.ErrInvalidRequest
	ErrPolicyViolation          = messages.ErrPolicyViolation
	ErrOutOfOrderSequenceNumber = messages.ErrOutOfOrderSequenceNumber
	ErrDuplicateSequenceNumber  = messages.ErrDuplicateSequenceNumber
	ErrInvalidProducerEpoch     = messages.ErrInvalidProducerEpoch
	ErrUnknownProducerID        = messages.ErrUnknownProducerID
	ErrProducerFenced           = messages.ErrProducerFenced
	ErrInvalidTxnState          = messages.ErrInvalidTxnState
	ErrConcurrentTransactions   = messages.ErrConcurrentTransactions
	ErrStorageError             = messages.ErrStorageError
	ErrNonEmptyGroup            = messages.ErrNonEmptyGroup
	ErrGroupIDNotFound          = messages.ErrGroupIDNotFound
	ErrFencedLeaderEpoch        = messages.ErrFencedLeaderEpoch
	ErrUnknownLeaderEpoch       = messages.ErrUnknownLeaderEpoch
	ErrFencedInstanceID         = messages.ErrFencedInstanceID
	ErrInvalidRecord            = messages.ErrInvalidRecord

	ErrPreferredLeaderNotAvailable = messages.ErrPreferredLeaderNotAvailable
	ErrEligibleLeadersNotAvailable = messages.ErrEligibleLeadersNotAvailable
	ErrElectionNotNeeded           = messages.ErrElectionNotNeeded
	ErrReassignmentInProgress      = messages.ErrReassignmentInProgress
)
