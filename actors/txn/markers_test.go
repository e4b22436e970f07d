package txn

import (
	"errors"
	"testing"

	"github.com/sluice-mq/sluice/messages"
)

func TestTxnLeaderOf(t *testing.T) {
	resp := &messages.MetadataResponse{
		Brokers: []*messages.Broker{{NodeId: 1, Address: "a:1"}, {NodeId: 2, Address: "b:2"}},
		Topics: []*messages.TopicMetadata{
			{Name: "out", Partitions: []*messages.PartitionMetadata{{Partition: 0, Leader: 2, LeaderEpoch: 7}, {Partition: 1, Leader: 3}}},
			{Name: "gone", ErrorCode: messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION},
		},
	}
	if addr, epoch, err := leaderOf(resp, "out", 0); err != nil || addr != "b:2" || epoch != 7 {
		t.Fatalf("out/0: %q %d %v", addr, epoch, err)
	}
	// A leader not among the live brokers: retriable, not gone.
	if _, _, err := leaderOf(resp, "out", 1); !errors.Is(err, messages.ErrLeaderNotAvailable) {
		t.Fatalf("out/1: %v", err)
	}
	// Deleted topics and partitions are gone: nothing left to resolve.
	for _, c := range []struct {
		topic     string
		partition int32
	}{{"gone", 0}, {"out", 5}, {"never", 0}} {
		if _, _, err := leaderOf(resp, c.topic, c.partition); !errors.Is(err, ErrPartitionGone) {
			t.Fatalf("%s/%d: %v", c.topic, c.partition, err)
		}
	}
	if _, _, err := leaderOf("nope", "out", 0); err == nil {
		t.Fatal("unexpected reply accepted")
	}
}

func TestTxnMarkerResult(t *testing.T) {
	for _, c := range []struct {
		code messages.ErrorCode
		ok   bool
	}{
		{messages.ErrorCode_NONE, true},
		// The partition saw a newer epoch of the producer: nothing of this
		// transaction is open there.
		{messages.ErrorCode_INVALID_PRODUCER_EPOCH, true},
		{messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, false},
		{messages.ErrorCode_TRANSACTION_COORDINATOR_FENCED, false},
		{messages.ErrorCode_NOT_ENOUGH_REPLICAS, false},
	} {
		if err := markerResult(&messages.WriteTxnMarkerResponse{ErrorCode: c.code}); (err == nil) != c.ok {
			t.Fatalf("%s: %v", c.code, err)
		}
	}
	if err := markerResult(&messages.ProduceResponse{}); err == nil {
		t.Fatal("unexpected reply accepted")
	}
}
