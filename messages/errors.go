package messages

import (
	"errors"
	"fmt"
	"strings"
)

// Error is the Go form of a wire ErrorCode. Errors with the same code compare
// equal under errors.Is, so callers can test a received error against the
// sentinels below whatever message it carries.
type Error struct {
	Code      ErrorCode
	Message   string
	Retriable bool
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "sluice: " + e.Code.String()
	}
	return fmt.Sprintf("sluice: %s: %s", e.Code, e.Message)
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code
	}
	return false
}

func sentinel(code ErrorCode, retriable bool) *Error {
	return &Error{Code: code, Retriable: retriable}
}

// Sentinels for the codes Sluice produces. Retriable ones are worth sending
// again, usually after refreshing metadata (Kafka's classification).
var (
	ErrUnknownServerError           = sentinel(ErrorCode_UNKNOWN_SERVER_ERROR, false)
	ErrOffsetOutOfRange             = sentinel(ErrorCode_OFFSET_OUT_OF_RANGE, false)
	ErrCorruptMessage               = sentinel(ErrorCode_CORRUPT_MESSAGE, true)
	ErrUnknownTopicOrPartition      = sentinel(ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, true)
	ErrInvalidFetchSize             = sentinel(ErrorCode_INVALID_FETCH_SIZE, false)
	ErrLeaderNotAvailable           = sentinel(ErrorCode_LEADER_NOT_AVAILABLE, true)
	ErrNotLeaderOrFollower          = sentinel(ErrorCode_NOT_LEADER_OR_FOLLOWER, true)
	ErrRequestTimedOut              = sentinel(ErrorCode_REQUEST_TIMED_OUT, true)
	ErrBrokerNotAvailable           = sentinel(ErrorCode_BROKER_NOT_AVAILABLE, false)
	ErrReplicaNotAvailable          = sentinel(ErrorCode_REPLICA_NOT_AVAILABLE, true)
	ErrMessageTooLarge              = sentinel(ErrorCode_MESSAGE_TOO_LARGE, false)
	ErrNetworkException             = sentinel(ErrorCode_NETWORK_EXCEPTION, true)
	ErrCoordinatorLoadInProgress    = sentinel(ErrorCode_COORDINATOR_LOAD_IN_PROGRESS, true)
	ErrCoordinatorNotAvailable      = sentinel(ErrorCode_COORDINATOR_NOT_AVAILABLE, true)
	ErrNotCoordinator               = sentinel(ErrorCode_NOT_COORDINATOR, true)
	ErrInvalidTopic                 = sentinel(ErrorCode_INVALID_TOPIC_EXCEPTION, false)
	ErrRecordListTooLarge           = sentinel(ErrorCode_RECORD_LIST_TOO_LARGE, false)
	ErrNotEnoughReplicas            = sentinel(ErrorCode_NOT_ENOUGH_REPLICAS, true)
	ErrNotEnoughReplicasAfterAppend = sentinel(ErrorCode_NOT_ENOUGH_REPLICAS_AFTER_APPEND, true)
	ErrInvalidRequiredAcks          = sentinel(ErrorCode_INVALID_REQUIRED_ACKS, false)
	ErrIllegalGeneration            = sentinel(ErrorCode_ILLEGAL_GENERATION, false)
	ErrInconsistentGroupProtocol    = sentinel(ErrorCode_INCONSISTENT_GROUP_PROTOCOL, false)
	ErrInvalidGroupID               = sentinel(ErrorCode_INVALID_GROUP_ID, false)
	ErrUnknownMemberID              = sentinel(ErrorCode_UNKNOWN_MEMBER_ID, false)
	ErrInvalidSessionTimeout        = sentinel(ErrorCode_INVALID_SESSION_TIMEOUT, false)
	ErrRebalanceInProgress          = sentinel(ErrorCode_REBALANCE_IN_PROGRESS, false)
	ErrInvalidTimestamp             = sentinel(ErrorCode_INVALID_TIMESTAMP, false)
	ErrTopicAlreadyExists           = sentinel(ErrorCode_TOPIC_ALREADY_EXISTS, false)
	ErrInvalidPartitions            = sentinel(ErrorCode_INVALID_PARTITIONS, false)
	ErrInvalidReplicationFactor     = sentinel(ErrorCode_INVALID_REPLICATION_FACTOR, false)
	ErrInvalidReplicaAssignment     = sentinel(ErrorCode_INVALID_REPLICA_ASSIGNMENT, false)
	ErrInvalidConfig                = sentinel(ErrorCode_INVALID_CONFIG, false)
	ErrNotController                = sentinel(ErrorCode_NOT_CONTROLLER, true)
	ErrInvalidRequest               = sentinel(ErrorCode_INVALID_REQUEST, false)
	ErrPolicyViolation              = sentinel(ErrorCode_POLICY_VIOLATION, false)
	ErrOutOfOrderSequenceNumber     = sentinel(ErrorCode_OUT_OF_ORDER_SEQUENCE_NUMBER, false)
	ErrDuplicateSequenceNumber      = sentinel(ErrorCode_DUPLICATE_SEQUENCE_NUMBER, false)
	ErrInvalidProducerEpoch         = sentinel(ErrorCode_INVALID_PRODUCER_EPOCH, false)
	ErrInvalidTxnState              = sentinel(ErrorCode_INVALID_TXN_STATE, false)
	ErrInvalidProducerIDMapping     = sentinel(ErrorCode_INVALID_PRODUCER_ID_MAPPING, false)
	ErrInvalidTransactionTimeout    = sentinel(ErrorCode_INVALID_TRANSACTION_TIMEOUT, false)
	ErrConcurrentTransactions       = sentinel(ErrorCode_CONCURRENT_TRANSACTIONS, true)
	ErrTransactionCoordinatorFenced = sentinel(ErrorCode_TRANSACTION_COORDINATOR_FENCED, false)
	ErrStorageError                 = sentinel(ErrorCode_KAFKA_STORAGE_ERROR, true)
	ErrUnknownProducerID            = sentinel(ErrorCode_UNKNOWN_PRODUCER_ID, false)
	ErrReassignmentInProgress       = sentinel(ErrorCode_REASSIGNMENT_IN_PROGRESS, false)
	ErrNonEmptyGroup                = sentinel(ErrorCode_NON_EMPTY_GROUP, false)
	ErrGroupIDNotFound              = sentinel(ErrorCode_GROUP_ID_NOT_FOUND, false)
	ErrFencedLeaderEpoch            = sentinel(ErrorCode_FENCED_LEADER_EPOCH, true)
	ErrUnknownLeaderEpoch           = sentinel(ErrorCode_UNKNOWN_LEADER_EPOCH, true)
	ErrUnsupportedCompressionType   = sentinel(ErrorCode_UNSUPPORTED_COMPRESSION_TYPE, false)
	ErrOffsetNotAvailable           = sentinel(ErrorCode_OFFSET_NOT_AVAILABLE, true)
	ErrMemberIDRequired             = sentinel(ErrorCode_MEMBER_ID_REQUIRED, false)
	ErrGroupMaxSizeReached          = sentinel(ErrorCode_GROUP_MAX_SIZE_REACHED, false)
	ErrFencedInstanceID             = sentinel(ErrorCode_FENCED_INSTANCE_ID, false)
	ErrGroupSubscribedToTopic       = sentinel(ErrorCode_GROUP_SUBSCRIBED_TO_TOPIC, false)
	ErrInvalidRecord                = sentinel(ErrorCode_INVALID_RECORD, false)
	ErrProducerFenced               = sentinel(ErrorCode_PRODUCER_FENCED, false)
	ErrTransactionalIDNotFound      = sentinel(ErrorCode_TRANSACTIONAL_ID_NOT_FOUND, false)
	ErrOperationNotAttempted        = sentinel(ErrorCode_OPERATION_NOT_ATTEMPTED, false)
	ErrUnstableOffsetCommit         = sentinel(ErrorCode_UNSTABLE_OFFSET_COMMIT, true)
	ErrPreferredLeaderNotAvailable  = sentinel(ErrorCode_PREFERRED_LEADER_NOT_AVAILABLE, true)
	ErrEligibleLeadersNotAvailable  = sentinel(ErrorCode_ELIGIBLE_LEADERS_NOT_AVAILABLE, true)
	ErrElectionNotNeeded            = sentinel(ErrorCode_ELECTION_NOT_NEEDED, false)
)

var byCode = func() map[ErrorCode]*Error {
	m := make(map[ErrorCode]*Error)
	for _, e := range []*Error{
		ErrUnknownServerError, ErrOffsetOutOfRange, ErrCorruptMessage, ErrUnknownTopicOrPartition,
		ErrInvalidFetchSize, ErrLeaderNotAvailable, ErrNotLeaderOrFollower, ErrRequestTimedOut,
		ErrBrokerNotAvailable, ErrReplicaNotAvailable, ErrMessageTooLarge, ErrNetworkException,
		ErrCoordinatorLoadInProgress, ErrCoordinatorNotAvailable, ErrNotCoordinator, ErrInvalidTopic,
		ErrRecordListTooLarge, ErrNotEnoughReplicas, ErrNotEnoughReplicasAfterAppend,
		ErrInvalidRequiredAcks, ErrIllegalGeneration, ErrInconsistentGroupProtocol, ErrInvalidGroupID,
		ErrUnknownMemberID, ErrInvalidSessionTimeout, ErrRebalanceInProgress, ErrInvalidTimestamp,
		ErrTopicAlreadyExists, ErrInvalidPartitions, ErrInvalidReplicationFactor,
		ErrInvalidReplicaAssignment, ErrInvalidConfig, ErrNotController, ErrInvalidRequest,
		ErrPolicyViolation, ErrOutOfOrderSequenceNumber, ErrDuplicateSequenceNumber,
		ErrInvalidProducerEpoch, ErrStorageError, ErrReassignmentInProgress, ErrNonEmptyGroup,
		ErrGroupIDNotFound, ErrFencedLeaderEpoch, ErrUnknownLeaderEpoch,
		ErrUnsupportedCompressionType, ErrOffsetNotAvailable, ErrMemberIDRequired,
		ErrGroupMaxSizeReached, ErrFencedInstanceID, ErrGroupSubscribedToTopic, ErrInvalidRecord,
		ErrInvalidTxnState, ErrInvalidProducerIDMapping, ErrInvalidTransactionTimeout,
		ErrConcurrentTransactions, ErrTransactionCoordinatorFenced, ErrUnknownProducerID,
		ErrProducerFenced, ErrTransactionalIDNotFound, ErrOperationNotAttempted, ErrUnstableOffsetCommit,
		ErrPreferredLeaderNotAvailable, ErrEligibleLeadersNotAvailable, ErrElectionNotNeeded,
	} {
		m[e.Code] = e
	}
	return m
}()

// ErrorForCode returns the error for a wire code with msg as its detail, or
// nil for NONE. Unknown codes map to an *Error that is not retriable.
func ErrorForCode(code ErrorCode, msg string) error {
	if code == ErrorCode_NONE {
		return nil
	}
	// A message relayed from another node's error already starts with the
	// code's name; keep it once.
	msg = strings.TrimPrefix(msg, code.String()+": ")
	e := &Error{Code: code, Message: msg}
	if s, ok := byCode[code]; ok {
		e.Retriable = s.Retriable
	}
	return e
}

// CodeFor returns the wire code for err: NONE for nil, the code of an *Error
// anywhere in the chain, and UNKNOWN_SERVER_ERROR otherwise.
func CodeFor(err error) ErrorCode {
	if err == nil {
		return ErrorCode_NONE
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ErrorCode_UNKNOWN_SERVER_ERROR
}

// IsRetriable reports whether err carries a code worth retrying.
func IsRetriable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		if s, ok := byCode[e.Code]; ok {
			return s.Retriable
		}
		return e.Retriable
	}
	return false
}

// Wrap returns an error with code's sentinel semantics and a detail message,
// for handlers building a response from a failure.
func Wrap(code ErrorCode, format string, args ...any) error {
	return ErrorForCode(code, fmt.Sprintf(format, args...))
}
