package group

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

func (h *harness) txnCommit(group string, pid int64, epoch int32, topic string, partition int32, offset int64) *messages.TxnOffsetCommitResponse {
	h.t.Helper()
	return call[*messages.TxnOffsetCommitResponse](h, &messages.TxnOffsetCommitRequest{
		TransactionalId: "t", GroupId: group, ProducerId: pid, ProducerEpoch: epoch, GenerationId: -1,
		Topics: []*messages.TxnOffsetCommitTopic{{Name: topic, Partitions: []*messages.TxnOffsetCommitPartition{
			{Partition: partition, CommittedOffset: offset, CommittedLeaderEpoch: -1}}}},
	})
}

// marker writes producer pid's marker to __consumer_offsets/0, as a
// transaction coordinator does, and, with notify, tells the node.
func (h *harness) marker(pid int64, epoch int32, commit, notify bool) {
	h.t.Helper()
	replica := actor.NewPID(h.system.Address(), messages.ReplicaActorID(messages.ConsumerOffsetsTopic, 0))
	res, err := h.system.Root.RequestFuture(replica, &messages.WriteTxnMarkerRequest{
		Topic: messages.ConsumerOffsetsTopic, ProducerId: pid, ProducerEpoch: epoch, Committed: commit, LeaderEpoch: -1, TimeoutMs: 5000,
	}, requestTimeout).Result()
	if err != nil {
		h.t.Fatal(err)
	}
	if r := res.(*messages.WriteTxnMarkerResponse); r.ErrorCode != messages.ErrorCode_NONE {
		h.t.Fatalf("marker: %v", r)
	}
	if notify {
		r := call[*messages.TxnOffsetsCompletedResponse](h, &messages.TxnOffsetsCompletedRequest{ProducerId: pid, ProducerEpoch: epoch, Committed: commit})
		if r.ErrorCode != messages.ErrorCode_NONE {
			h.t.Fatalf("completed: %v", r)
		}
	}
}

func TestGroupTxnOffsetsVisibleOnlyOnCommit(t *testing.T) {
	h := newHarness(t, nil)
	h.loaded("app")
	if r := h.commit("app", "", -1, "in", map[int32]int64{0: 5}); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("plain commit %v", r)
	}
	if r := h.txnCommit("app", 100, 0, "in", 0, 10); r.ErrorCode != messages.ErrorCode_NONE || r.Topics[0].Partitions[0].ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("txn commit %v", r)
	}
	if got, _ := h.committed("app"); got["in/0"] != 5 {
		t.Fatalf("pending offset visible: %v", got)
	}
	// The same producer commits again in its transaction (next sequence).
	if r := h.txnCommit("app", 100, 0, "in", 1, 3); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("second txn commit %v", r)
	}
	h.marker(100, 0, true, true)
	if got, _ := h.committed("app"); got["in/0"] != 10 || got["in/1"] != 3 {
		t.Fatalf("after commit marker: %v", got)
	}

	// An aborted transaction's offsets never show.
	if r := h.txnCommit("app", 101, 0, "in", 0, 50); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("txn commit %v", r)
	}
	h.marker(101, 0, false, true)
	if got, _ := h.committed("app"); got["in/0"] != 10 {
		t.Fatalf("after abort marker: %v", got)
	}

	// An open transaction, and one whose marker the node was not told of.
	h.txnCommit("app", 102, 0, "in", 2, 7)
	h.txnCommit("app", 103, 0, "in", 3, 8)
	h.marker(103, 0, true, false)

	// A reload respects the markers in the log: committed applied, aborted
	// dropped, the open one pending until its marker.
	h.restart()
	h.loaded("app")
	got, _ := h.committed("app")
	if got["in/0"] != 10 || got["in/1"] != 3 || got["in/3"] != 8 {
		t.Fatalf("after reload: %v", got)
	}
	if _, ok := got["in/2"]; ok {
		t.Fatalf("open transaction's offset visible after reload: %v", got)
	}
	// KIP-447: a read_committed member asking for stable offsets is told
	// to wait while the transaction is open.
	stable := func() messages.ErrorCode {
		r := call[*messages.OffsetFetchResponse](h, &messages.OffsetFetchRequest{GroupId: "app", RequireStable: true,
			Topics: []*messages.OffsetFetchTopic{{Name: "in", Partitions: []int32{1, 2}}}})
		if c := r.Topics[0].Partitions[0].ErrorCode; c != messages.ErrorCode_NONE {
			t.Fatalf("a partition without pending offsets: %s", c)
		}
		return r.Topics[0].Partitions[1].ErrorCode
	}
	if c := stable(); c != messages.ErrorCode_UNSTABLE_OFFSET_COMMIT {
		t.Fatalf("require_stable with an open transaction: %s", c)
	}
	h.marker(102, 0, true, true)
	if got, _ := h.committed("app"); got["in/2"] != 7 {
		t.Fatalf("after the reloaded transaction's commit: %v", got)
	}
	if c := stable(); c != messages.ErrorCode_NONE {
		t.Fatalf("require_stable after the commit: %s", c)
	}

	// The transactional batches carry the producer, the transactional
	// bit and consecutive sequences.
	var seqs []int32
	replica := actor.NewPID(h.system.Address(), messages.ReplicaActorID(messages.ConsumerOffsetsTopic, 0))
	res, err := h.system.Root.RequestFuture(replica, &messages.FetchRequest{Topic: messages.ConsumerOffsetsTopic, MaxBytes: 1 << 20, LeaderEpoch: -1}, requestTimeout).Result()
	if err != nil {
		t.Fatal(err)
	}
	for buf := res.(*messages.FetchResponse).Records; len(buf) > 0; {
		hd, _, rest, err := batch.Next(buf)
		if err != nil {
			t.Fatal(err)
		}
		buf = rest
		if hd.ProducerID == 100 && !hd.Attributes.Control() {
			if !hd.Attributes.Transactional() || hd.ProducerEpoch != 0 {
				t.Fatalf("batch %+v", hd)
			}
			seqs = append(seqs, hd.BaseSequence)
		}
	}
	if len(seqs) != 2 || seqs[0] != 0 || seqs[1] != 1 {
		t.Fatalf("sequences %v", seqs)
	}
}

func TestGroupTxnOffsetCommitRefusals(t *testing.T) {
	h := newHarness(t, nil)
	h.loaded("app")
	r := call[*messages.TxnOffsetCommitResponse](h, &messages.TxnOffsetCommitRequest{
		TransactionalId: "t", GroupId: "app", ProducerId: 1, ProducerEpoch: 0, GenerationId: 3, MemberId: "ghost",
		Topics: []*messages.TxnOffsetCommitTopic{{Name: "in", Partitions: []*messages.TxnOffsetCommitPartition{{Partition: 0, CommittedOffset: 1}}}},
	})
	if r.ErrorCode != messages.ErrorCode_UNKNOWN_MEMBER_ID || r.Topics[0].Partitions[0].ErrorCode != messages.ErrorCode_UNKNOWN_MEMBER_ID {
		t.Fatalf("unknown member %v", r)
	}
	if r := h.txnCommit("app", -1, 0, "in", 0, 1); r.ErrorCode != messages.ErrorCode_INVALID_REQUEST {
		t.Fatalf("no producer id %v", r)
	}
}
