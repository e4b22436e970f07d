package handler

import (
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

func TestTxnCodeFencedByVersion(t *testing.T) {
	for _, tc := range []struct {
		code, version, want int16
	}{
		{errProducerFenced, 0, errInvalidProducerEpoch},
		{errProducerFenced, 1, errInvalidProducerEpoch},
		{errProducerFenced, 2, errProducerFenced},
		{errProducerFenced, 4, errProducerFenced},
		{int16(messages.ErrorCode_CONCURRENT_TRANSACTIONS), 0, 51},
		{0, 0, 0},
	} {
		if got := txnCode(tc.code, tc.version); got != tc.want {
			t.Errorf("txnCode(%d, v%d) = %d, want %d", tc.code, tc.version, got, tc.want)
		}
	}
	// InitProducerId learned PRODUCER_FENCED in v4.
	if got := fencedCode(errProducerFenced, 3, fencedSinceInit); got != errInvalidProducerEpoch {
		t.Errorf("InitProducerId v3 fenced: %d", got)
	}
	if got := fencedCode(errProducerFenced, 4, fencedSinceInit); got != errProducerFenced {
		t.Errorf("InitProducerId v4 fenced: %d", got)
	}
}

func addPartitionsReq(version int16) *kmsg.AddPartitionsToTxnRequest {
	r := kmsg.NewPtrAddPartitionsToTxnRequest()
	r.Version, r.TransactionalID, r.ProducerID, r.ProducerEpoch = version, "tx", 7, 3
	for _, name := range []string{"a", "b"} {
		t := kmsg.NewAddPartitionsToTxnRequestTopic()
		t.Topic, t.Partitions = name, []int32{0, 1}
		r.Topics = append(r.Topics, t)
	}
	return r
}

// apCodes flattens a response's per-partition codes as topic/partition.
func apCodes(resp *kmsg.AddPartitionsToTxnResponse) map[string]int16 {
	out := map[string]int16{}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			out[fmt.Sprintf("%s/%d", t.Topic, p.Partition)] = p.ErrorCode
		}
	}
	return out
}

func TestAddPartitionsMapping(t *testing.T) {
	r := addPartitionsReq(3)
	msg := addPartitionsMsg(r)
	if msg.TransactionalId != "tx" || msg.ProducerId != 7 || msg.ProducerEpoch != 3 || len(msg.Topics) != 2 || len(msg.Topics[1].Partitions) != 2 {
		t.Fatalf("request: %+v", msg)
	}

	// Unknown partitions carry their own code, the rest OPERATION_NOT_ATTEMPTED.
	a := &messages.AddPartitionsToTxnResponse{ErrorCode: messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, Topics: []*messages.AddPartitionsToTxnTopicResult{
		{Name: "a", Partitions: []*messages.AddPartitionsToTxnPartitionResult{{Partition: 0, ErrorCode: messages.ErrorCode_OPERATION_NOT_ATTEMPTED}, {Partition: 1, ErrorCode: messages.ErrorCode_OPERATION_NOT_ATTEMPTED}}},
		{Name: "b", Partitions: []*messages.AddPartitionsToTxnPartitionResult{{Partition: 0, ErrorCode: messages.ErrorCode_OPERATION_NOT_ATTEMPTED}, {Partition: 1, ErrorCode: messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION}}},
	}}
	got := apCodes(addPartitionsResp(r, a, nil))
	want := map[string]int16{"a/0": 55, "a/1": 55, "b/0": 55, "b/1": 3}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: code %d, want %d (all %v)", k, got[k], v, got)
		}
	}

	// A whole-request error without partitions reaches every partition.
	got = apCodes(addPartitionsResp(r, &messages.AddPartitionsToTxnResponse{ErrorCode: messages.ErrorCode_NOT_COORDINATOR}, nil))
	if len(got) != 4 {
		t.Fatalf("partitions answered: %v", got)
	}
	for k, v := range got {
		if v != 16 {
			t.Errorf("%s: code %d, want NOT_COORDINATOR", k, v)
		}
	}

	// No answer: COORDINATOR_NOT_AVAILABLE, retriable.
	for k, v := range apCodes(addPartitionsResp(r, nil, errors.New("timeout"))) {
		if v != errCoordinatorNotAvailable {
			t.Errorf("%s: code %d without an answer", k, v)
		}
	}

	// PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2.
	fenced := &messages.AddPartitionsToTxnResponse{ErrorCode: messages.ErrorCode_PRODUCER_FENCED}
	for _, v := range apCodes(addPartitionsResp(addPartitionsReq(1), fenced, nil)) {
		if v != errInvalidProducerEpoch {
			t.Fatalf("v1 fenced code %d", v)
		}
	}
	for _, v := range apCodes(addPartitionsResp(addPartitionsReq(2), fenced, nil)) {
		if v != errProducerFenced {
			t.Fatalf("v2 fenced code %d", v)
		}
	}
}

func TestTxnOffsetCommitMapping(t *testing.T) {
	r := kmsg.NewPtrTxnOffsetCommitRequest()
	r.Version, r.TransactionalID, r.Group, r.ProducerID, r.ProducerEpoch = 2, "tx", "g", 9, 1
	r.Generation, r.MemberID = 5, "m" // not on the wire before v3
	rt := kmsg.NewTxnOffsetCommitRequestTopic()
	rt.Topic = "in"
	for p := range int32(2) {
		rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = p, 100+int64(p), 4
		rt.Partitions = append(rt.Partitions, rp)
	}
	r.Topics = append(r.Topics, rt)

	known := map[string]int32{"in": 2}
	msg := txnOffsetCommitMsg(r, known)
	if msg.GenerationId != -1 || msg.MemberId != "" {
		t.Fatalf("v2 request names a member: %+v", msg)
	}
	if p := msg.Topics[0].Partitions[1]; p.CommittedOffset != 101 || p.CommittedLeaderEpoch != 4 {
		t.Fatalf("partition: %+v", p)
	}
	r.Version = 3
	if msg = txnOffsetCommitMsg(r, known); msg.GenerationId != 5 || msg.MemberId != "m" {
		t.Fatalf("v3 request: %+v", msg)
	}
	r.Version = 1
	if msg = txnOffsetCommitMsg(r, known); msg.Topics[0].Partitions[0].CommittedLeaderEpoch != -1 {
		t.Fatalf("v1 carries a leader epoch: %+v", msg.Topics[0].Partitions[0])
	}

	a := &messages.TxnOffsetCommitResponse{Topics: []*messages.TxnOffsetCommitTopicResult{{Name: "in", Partitions: []*messages.TxnOffsetCommitPartitionResult{
		{Partition: 0}, {Partition: 1, ErrorCode: messages.ErrorCode_OFFSET_METADATA_TOO_LARGE},
	}}}}
	resp := txnOffsetCommitResp(r, a, nil, known)
	if c := resp.Topics[0].Partitions; c[0].ErrorCode != 0 || c[1].ErrorCode != 12 {
		t.Fatalf("codes: %+v", c)
	}

	// A partition the metadata does not know is not sent and answers
	// UNKNOWN_TOPIC_OR_PARTITION; a topic with none known is left out.
	known = map[string]int32{"in": 1}
	msg = txnOffsetCommitMsg(r, known)
	if len(msg.Topics) != 1 || len(msg.Topics[0].Partitions) != 1 || msg.Topics[0].Partitions[0].Partition != 0 {
		t.Fatalf("sent %+v", msg.Topics)
	}
	resp = txnOffsetCommitResp(r, &messages.TxnOffsetCommitResponse{Topics: []*messages.TxnOffsetCommitTopicResult{
		{Name: "in", Partitions: []*messages.TxnOffsetCommitPartitionResult{{Partition: 0}}}}}, nil, known)
	if c := resp.Topics[0].Partitions; c[0].ErrorCode != 0 || c[1].ErrorCode != 3 {
		t.Fatalf("codes with an unknown partition: %+v", c)
	}
	if msg = txnOffsetCommitMsg(r, map[string]int32{}); len(msg.Topics) != 0 {
		t.Fatalf("sent partitions of an unknown topic: %+v", msg.Topics)
	}
	resp = txnOffsetCommitResp(r, nil, nil, map[string]int32{})
	for _, p := range resp.Topics[0].Partitions {
		if p.ErrorCode != 3 {
			t.Fatalf("unknown topic: %+v", p)
		}
	}

	known = map[string]int32{"in": 2}
	resp = txnOffsetCommitResp(r, &messages.TxnOffsetCommitResponse{ErrorCode: messages.ErrorCode_ILLEGAL_GENERATION}, nil, known)
	for _, p := range resp.Topics[0].Partitions {
		if p.ErrorCode != 22 {
			t.Fatalf("whole-request error not per partition: %+v", p)
		}
	}
}

func TestDescribeTransactionsMapping(t *testing.T) {
	r := kmsg.NewPtrDescribeTransactionsRequest()
	r.TransactionalIDs = []string{"b", "a", "c"}
	a := &messages.DescribeTransactionsResponse{TransactionStates: []*messages.DescribedTransaction{
		{TransactionalId: "a", TransactionState: "Ongoing", TransactionTimeoutMs: 60000, TransactionStartTimeMs: 1234,
			ProducerId: 11, ProducerEpoch: 2, Topics: []*messages.DescribedTransactionTopic{{Topic: "out", Partitions: []int32{0, 2}}}},
		{TransactionalId: "b", ErrorCode: messages.ErrorCode_NOT_COORDINATOR},
	}}
	resp := describeTransactionsResp(r, a, nil)
	if len(resp.TransactionStates) != 3 {
		t.Fatalf("states: %+v", resp.TransactionStates)
	}
	b, got, c := resp.TransactionStates[0], resp.TransactionStates[1], resp.TransactionStates[2]
	if b.TransactionalID != "b" || b.ErrorCode != 16 {
		t.Errorf("b: %+v", b)
	}
	if got.TransactionalID != "a" || got.ErrorCode != 0 || got.State != "Ongoing" || got.ProducerID != 11 || got.ProducerEpoch != 2 ||
		got.TimeoutMillis != 60000 || got.StartTimestamp != 1234 || len(got.Topics) != 1 || len(got.Topics[0].Partitions) != 2 {
		t.Errorf("a: %+v", got)
	}
	if c.TransactionalID != "c" || c.ErrorCode != errCoordinatorNotAvailable {
		t.Errorf("c (no answer for it): %+v", c)
	}
}

func TestListTransactionsMapping(t *testing.T) {
	r := kmsg.NewPtrListTransactionsRequest()
	a := &messages.ListTransactionsResponse{UnknownStateFilters: []string{"Bogus"},
		TransactionStates: []*messages.ListedTransaction{{TransactionalId: "x", ProducerId: 3, TransactionState: "Empty"}}}
	resp := listTransactionsResp(r, a, nil)
	if resp.ErrorCode != 0 || len(resp.UnknownStateFilters) != 1 || len(resp.TransactionStates) != 1 || resp.TransactionStates[0].ProducerID != 3 {
		t.Fatalf("resp: %+v", resp)
	}
	resp = listTransactionsResp(r, &messages.ListTransactionsResponse{ErrorCode: messages.ErrorCode_COORDINATOR_LOAD_IN_PROGRESS}, nil)
	if resp.ErrorCode != 14 {
		t.Fatalf("load in progress: %d", resp.ErrorCode)
	}
	if resp = listTransactionsResp(r, nil, errors.New("gone")); resp.ErrorCode != errCoordinatorNotAvailable {
		t.Fatalf("no answer: %d", resp.ErrorCode)
	}
}

func TestFillProducers(t *testing.T) {
	rp := kmsg.NewDescribeProducersResponseTopicPartition()
	fillProducers(&rp, &messages.DescribeProducersResponse{Producers: []*messages.DescribedProducer{
		{ProducerId: 5, ProducerEpoch: 1, LastSequence: 9, LastTimestamp: 77, CoordinatorEpoch: -1, CurrentTxnStartOffset: 40},
	}}, nil)
	if rp.ErrorCode != 0 || len(rp.ActiveProducers) != 1 || rp.ActiveProducers[0].CurrentTxnStartOffset != 40 || rp.ActiveProducers[0].LastSequence != 9 {
		t.Fatalf("%+v", rp)
	}
	rp = kmsg.NewDescribeProducersResponseTopicPartition()
	fillProducers(&rp, &messages.DescribeProducersResponse{ErrorCode: messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, ErrorMessage: "not here"}, nil)
	if rp.ErrorCode != 6 || rp.ErrorMessage == nil || len(rp.ActiveProducers) != 0 {
		t.Fatalf("%+v", rp)
	}
}
