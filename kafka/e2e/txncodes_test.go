package e2e

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// initTxnID runs InitProducerId for id until the coordinator answers (it
// answers CONCURRENT_TRANSACTIONS while it aborts an open transaction).
func initTxnID(t *testing.T, cl *kgo.Client, id string) (int64, int16) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID, req.TransactionTimeoutMillis = kmsg.StringPtr(id), 30000
		resp, err := req.RequestWith(testCtx(t), cl)
		if err == nil && resp.ErrorCode == 0 {
			return resp.ProducerID, resp.ProducerEpoch
		}
		if err == nil {
			if ke := kerr.ErrorForCode(resp.ErrorCode); ke != kerr.ConcurrentTransactions && !kerr.IsRetriable(ke) {
				t.Fatalf("init producer id: %v", ke)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("init producer id: %v %+v", err, resp)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKafkaTxnErrorCodes sends the transaction requests raw and checks
// Kafka's error codes: per partition for AddPartitionsToTxn and
// TxnOffsetCommit with unknown partitions, INVALID_TXN_STATE for an
// EndTxn with nothing open, and a fenced epoch as PRODUCER_FENCED from v2
// but INVALID_PRODUCER_EPOCH at v1, which predates it.
func TestKafkaTxnErrorCodes(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	cl := newClient(t, c)
	createTopic(t, cl, "txn-raw", 2, nil)
	const id = "raw-txn"
	pid, epoch := initTxnID(t, cl, id)

	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = id, pid, epoch, true
	if resp, err := end.RequestWith(testCtx(t), cl); err != nil || resp.ErrorCode != kerr.InvalidTxnState.Code {
		t.Fatalf("end with nothing open: %v %+v", err, resp)
	}

	add := kmsg.NewPtrAddPartitionsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch = id, pid, epoch
	for _, tp := range []struct {
		topic string
		parts []int32
	}{{"txn-raw", []int32{0, 5}}, {"missing", []int32{0}}} {
		rt := kmsg.NewAddPartitionsToTxnRequestTopic()
		rt.Topic, rt.Partitions = tp.topic, tp.parts
		add.Topics = append(add.Topics, rt)
	}
	resp, err := add.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[int32]int16{
		"txn-raw": {0: kerr.OperationNotAttempted.Code, 5: kerr.UnknownTopicOrPartition.Code},
		"missing": {0: kerr.UnknownTopicOrPartition.Code},
	}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			if p.ErrorCode != want[rt.Topic][p.Partition] {
				t.Errorf("add %s/%d: %v, want %v", rt.Topic, p.Partition, kerr.ErrorForCode(p.ErrorCode), kerr.ErrorForCode(want[rt.Topic][p.Partition]))
			}
		}
	}

	// A good AddPartitionsToTxn opens the transaction; TxnOffsetCommit
	// refuses partitions that do not exist, per partition.
	add = kmsg.NewPtrAddPartitionsToTxnRequest() // kgo rewrites a sent one into its v4 form
	add.TransactionalID, add.ProducerID, add.ProducerEpoch = id, pid, epoch
	rt := kmsg.NewAddPartitionsToTxnRequestTopic()
	rt.Topic, rt.Partitions = "txn-raw", []int32{0, 1}
	add.Topics = append(add.Topics, rt)
	if resp, err := add.RequestWith(testCtx(t), cl); err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 || resp.Topics[0].Partitions[1].ErrorCode != 0 {
		t.Fatalf("add: %v %+v", err, resp)
	}
	// The group's coordinator first, as a consuming client has found it
	// (this creates __consumer_offsets, which AddOffsetsToTxn needs).
	deadline := time.Now().Add(20 * time.Second)
	for {
		fc := kmsg.NewPtrFindCoordinatorRequest()
		fc.CoordinatorKey = "raw-group"
		resp, err := fc.RequestWith(testCtx(t), cl)
		if err == nil && resp.ErrorCode == 0 && len(resp.Coordinators) == 0 || err == nil && len(resp.Coordinators) == 1 && resp.Coordinators[0].ErrorCode == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("find group coordinator: %v %+v", err, resp)
		}
		time.Sleep(20 * time.Millisecond)
	}
	addOffsets := kmsg.NewPtrAddOffsetsToTxnRequest()
	addOffsets.TransactionalID, addOffsets.ProducerID, addOffsets.ProducerEpoch, addOffsets.Group = id, pid, epoch, "raw-group"
	if resp, err := addOffsets.RequestWith(testCtx(t), cl); err != nil || resp.ErrorCode != 0 {
		t.Fatalf("add offsets: %v %+v", err, resp)
	}
	commit := kmsg.NewPtrTxnOffsetCommitRequest()
	commit.TransactionalID, commit.Group, commit.ProducerID, commit.ProducerEpoch = id, "raw-group", pid, epoch
	for _, name := range []string{"txn-raw", "missing"} {
		rt := kmsg.NewTxnOffsetCommitRequestTopic()
		rt.Topic = name
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset = 0, 7
		rt.Partitions = append(rt.Partitions, rp)
		commit.Topics = append(commit.Topics, rt)
	}
	cresp, err := commit.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(cresp.Topics) != 2 || cresp.Topics[0].Partitions[0].ErrorCode != 0 ||
		cresp.Topics[1].Partitions[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("txn offset commit: %+v", cresp.Topics)
	}

	// A new InitProducerId aborts the open transaction (bumping the epoch
	// to fence it) and bumps the epoch again: the old epoch is fenced.
	pid2, epoch2 := initTxnID(t, cl, id)
	if pid2 != pid || epoch2 <= epoch {
		t.Fatalf("after the fence: producer %d epoch %d, before %d/%d", pid2, epoch2, pid, epoch)
	}
	if resp, err := end.RequestWith(testCtx(t), cl); err != nil || resp.ErrorCode != kerr.ProducerFenced.Code {
		t.Fatalf("end with a fenced epoch (v%d): %v %+v", end.Version, err, resp)
	}
	v1 := kversion.Stable()
	v1.SetMaxKeyVersion(end.Key(), 1)
	old := newClient(t, c, kgo.MaxVersions(v1))
	resp1, err := end.RequestWith(testCtx(t), old)
	if err != nil {
		t.Fatal(err)
	}
	if resp1.Version != 1 || resp1.ErrorCode != kerr.InvalidProducerEpoch.Code {
		t.Fatalf("end with a fenced epoch at v%d: %v", resp1.Version, kerr.ErrorForCode(resp1.ErrorCode))
	}
	if errors.Is(kerr.ErrorForCode(resp1.ErrorCode), kerr.ProducerFenced) {
		t.Fatal("v1 answered PRODUCER_FENCED")
	}
}
