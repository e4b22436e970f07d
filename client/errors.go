package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// Errors of the client itself. Broker errors are *messages.Error values
// (test them with errors.Is against messages.ErrUnknownTopicOrPartition and
// the other sentinels), wrapped with the topic and partition they concern.
var (
	// ErrClosed means the Client was closed.
	ErrClosed = errors.New("client: closed")
	// ErrProducerClosed means the Producer was closed before the record
	// could be sent.
	ErrProducerClosed = errors.New("client: producer closed")
	// ErrNotAssigned means the partition is not assigned to the Consumer.
	ErrNotAssigned = errors.New("client: partition not assigned")
	// ErrNoOffset means an assigned partition has no position and the
	// reset policy is ResetNone: Seek it first.
	ErrNoOffset = errors.New("client: no position for partition and offset reset is none")
	// ErrNoTopic means a record names no topic.
	ErrNoTopic = errors.New("client: record has no topic")
)

// OffsetOutOfRangeError reports a fetch position outside the partition's
// log [LogStartOffset, HighWatermark]. It matches
// messages.ErrOffsetOutOfRange under errors.Is.
type OffsetOutOfRangeError struct {
	Topic          string
	Partition      int32
	Offset         int64 // the position that was fetched
	LogStartOffset int64 // first offset still in the log
	HighWatermark  int64 // offset after the last committed record
}

func (e *OffsetOutOfRangeError) Error() string {
	return fmt.Sprintf("client: offset %d out of range for %s/%d (valid %d..%d)",
		e.Offset, e.Topic, e.Partition, e.LogStartOffset, e.HighWatermark)
}

// Unwrap returns messages.ErrOffsetOutOfRange.
func (e *OffsetOutOfRangeError) Unwrap() error { return messages.ErrOffsetOutOfRange }

// errNoActor marks a request answered by a dead letter: the target actor
// does not exist on its node, or the node could not be reached.
var errNoActor = errors.New("client: no such actor")

// UnreachableError reports a broker the client could not connect to: no
// process listens at Addr, or the network does not route there. It
// matches the client's dead-letter error, so it is handled as a node
// that is gone.
type UnreachableError struct {
	Addr string
	Err  error // the dial's error, e.g. a *net.OpError with ECONNREFUSED
}

func (e *UnreachableError) Error() string {
	reason := e.Err.Error()
	var op *net.OpError
	if errors.As(e.Err, &op) && op.Err != nil {
		reason = op.Err.Error()
		var sys *os.SyscallError
		if errors.As(op.Err, &sys) {
			reason = sys.Err.Error()
		}
	}
	return fmt.Sprintf("cannot reach broker %s: %s", e.Addr, reason)
}

// Unwrap returns the dial's error and the dead-letter error.
func (e *UnreachableError) Unwrap() []error { return []error{e.Err, errNoActor} }

// NoAnswerError reports that a broker accepted the client's connection but
// no answer came back before the timeout. Brokers answer by connecting to
// the client's own remote at ClientAddr; when they cannot reach it (the
// client listens on loopback, or sits behind NAT) every request times
// out. Config.ListenHost or Config.AdvertiseAddr fix that.
type NoAnswerError struct {
	ClientAddr string
	Err        error // the timeout
}

func (e *NoAnswerError) Error() string {
	return fmt.Sprintf("no answer from the brokers, which accepted the connection: they may not reach this client at %s "+
		"(set the client's listen or advertise address to one the brokers can connect to): %v", e.ClientAddr, e.Err)
}

func (e *NoAnswerError) Unwrap() error { return e.Err }

// probeDeadLetter tells a dead letter from an unreachable node: when addr
// does not accept a TCP connection within wait, it returns an
// *UnreachableError, else err unchanged.
func probeDeadLetter(err error, addr string, wait time.Duration) error {
	if !errors.Is(err, errNoActor) || wait <= 0 {
		return err
	}
	conn, derr := net.DialTimeout("tcp", addr, min(wait, time.Second))
	if derr != nil {
		return &UnreachableError{Addr: addr, Err: derr}
	}
	_ = conn.Close()
	return err
}

// permanentError marks an error the retry loop must not retry although its
// code is retriable, e.g. UNKNOWN_TOPIC_OR_PARTITION confirmed by fresh
// metadata.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

// retriable reports whether the retry loop should try again after err.
func retriable(err error) bool {
	var p *permanentError
	if errors.As(err, &p) {
		return false
	}
	return messages.IsRetriable(err)
}

// staleMetadata reports whether err means the client's view of leaders
// or topics is out of date.
func staleMetadata(err error) bool {
	switch messages.CodeFor(err) {
	case messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION,
		messages.ErrorCode_LEADER_NOT_AVAILABLE, messages.ErrorCode_FENCED_LEADER_EPOCH,
		messages.ErrorCode_UNKNOWN_LEADER_EPOCH, messages.ErrorCode_NOT_CONTROLLER,
		messages.ErrorCode_NETWORK_EXCEPTION, messages.ErrorCode_REPLICA_NOT_AVAILABLE,
		// The leader's log dir failed: the controller moves the leadership.
		messages.ErrorCode_KAFKA_STORAGE_ERROR:
		return true
	}
	return false
}

// timedOut returns a REQUEST_TIMED_OUT error that also matches ctxErr
// (context.DeadlineExceeded or Canceled) when the context ended first.
func timedOut(what string, ctxErr error) error {
	e := messages.ErrorForCode(messages.ErrorCode_REQUEST_TIMED_OUT, what)
	if ctxErr != nil {
		return fmt.Errorf("%w: %w", e, ctxErr)
	}
	return e
}

// ctxError converts a context's end into the client's error for it:
// cancellation stays context.Canceled, a deadline is a timeout.
func ctxError(ctx context.Context, what string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timedOut(what, ctx.Err())
	}
	return ctx.Err()
}
