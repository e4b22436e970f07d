package client

import (
	"errors"
	"fmt"
	"testing"

	"github.com/sluice-mq/sluice/messages"
)

// TestExportedSentinelsMatchBrokerErrors: an error decoded from a wire
// code matches the sentinel package client exports for it.
func TestExportedSentinelsMatchBrokerErrors(t *testing.T) {
	for code, sentinel := range map[messages.ErrorCode]error{
		messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION:   ErrUnknownTopicOrPartition,
		messages.ErrorCode_TOPIC_ALREADY_EXISTS:         ErrTopicAlreadyExists,
		messages.ErrorCode_OUT_OF_ORDER_SEQUENCE_NUMBER: ErrOutOfOrderSequenceNumber,
		messages.ErrorCode_PRODUCER_FENCED:              ErrProducerFenced,
	} {
		err := fmt.Errorf("produce to t/0: %w", messages.ErrorForCode(code, "detail"))
		var e *Error
		if !errors.Is(err, sentinel) || !errors.As(err, &e) || e.Code != code {
			t.Errorf("%v: wrapped error does not match client's sentinel", code)
		}
	}
	if !IsRetriable(ErrNotLeaderOrFollower) || IsRetriable(ErrTopicAlreadyExists) {
		t.Error("IsRetriable disagrees with Kafka's classification")
	}
	if c, err := ParseCodec("zstd"); err != nil || c != CodecZstd {
		t.Fatalf("ParseCodec(zstd) = %v, %v", c, err)
	}
}
