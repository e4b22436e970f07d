package durability

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// producerBatch encodes n values from producer pid (epoch 0) starting at
// sequence seq, transactional or not.
func producerBatch(t *testing.T, pid int64, seq int32, txn bool, n int) []byte {
	t.Helper()
	opts := batch.DefaultEncodeOptions()
	opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence, opts.Transactional = pid, 0, seq, txn
	recs := make([]batch.Record, n)
	for i := range recs {
		recs[i] = batch.Record{Timestamp: time.Now().UnixMilli(), Value: []byte(strings.Repeat("p", 200))}
	}
	b, err := batch.Encode(recs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCrashRecoversProducerState SIGKILLs a node holding idempotent
// producers, an aborted and an open transaction, with segments rolled
// (snapshots written) and a tail after the last snapshot. After the
// restart retries of batches written before the crash are answered with
// their original offsets, a gap is refused, the open transaction still
// holds the last stable offset back and read_committed fetches still
// list the aborted transaction.
func TestCrashRecoversProducerState(t *testing.T) {
	const topic = "producers"
	c := startNode(t, `
log:
  segment_bytes: 16384
`)
	cl := clustertest.NewClient(t)
	createTopic(t, c, cl, topic, 1, nil)
	pid := c.ReplicaPID(0, topic, 0)
	produce := func(b []byte) *messages.ProduceResponse {
		t.Helper()
		return clustertest.Request[*messages.ProduceResponse](t, cl, pid, &messages.ProduceRequest{Topic: topic, Acks: -1, Records: b, LeaderEpoch: -1})
	}
	marker := func(producer int64, committed bool) {
		t.Helper()
		r := clustertest.Request[*messages.WriteTxnMarkerResponse](t, cl, pid, &messages.WriteTxnMarkerRequest{
			Topic: topic, ProducerId: producer, CoordinatorEpoch: 1, Committed: committed, LeaderEpoch: -1,
		})
		if r.ErrorCode != messages.ErrorCode_NONE {
			t.Fatalf("marker: %v %s", r.ErrorCode, r.ErrorMessage)
		}
	}
	// Producer 100 writes 60 batches of 4 (several segments); producer
	// 200's transaction at the start is aborted; producer 300's is left
	// open after them.
	r := produce(producerBatch(t, 200, 0, true, 2))
	abortedFirst := r.BaseOffset
	offsets := make([]int64, 60)
	for i := range offsets {
		r := produce(producerBatch(t, 100, int32(i*4), false, 4))
		if r.ErrorCode != messages.ErrorCode_NONE {
			t.Fatalf("batch %d: %v %s", i, r.ErrorCode, r.ErrorMessage)
		}
		offsets[i] = r.BaseOffset
		if i == 10 {
			marker(200, false)
		}
	}
	open := produce(producerBatch(t, 300, 0, true, 1)).BaseOffset
	for i := 60; i < 63; i++ { // the tail after the last roll
		offsets = append(offsets, produce(producerBatch(t, 100, int32(i*4), false, 4)).BaseOffset)
	}
	status := clustertest.Request[*messages.PartitionStatusResponse](t, cl, pid, &messages.PartitionStatusRequest{Topic: topic})
	end := status.LogEndOffset
	// The snapshot of each roll is written off the actor: the crash comes
	// once every rolled segment's is on disk, as the test is about what a
	// restart does with them.
	if status.Segments < 3 {
		t.Fatalf("%d segments, want several rolls", status.Segments)
	}
	waitFor(t, "a producer state snapshot per rolled segment", func() error {
		snaps, err := filepath.Glob(filepath.Join(c.DataDir(0), topic+"-0", "*.snapshot"))
		if err != nil {
			return err
		}
		if len(snaps) < int(status.Segments)-1 {
			return fmt.Errorf("%d snapshots for %d segments", len(snaps), status.Segments)
		}
		return nil
	})

	c.Kill(0)
	c.StartNode(0)
	waitFor(t, "the restarted node answers", func() error {
		res, err := cl.Request(pid, &messages.PartitionStatusRequest{Topic: topic})
		if err != nil {
			return err
		}
		if st := res.(*messages.PartitionStatusResponse); !st.Leader || st.LogEndOffset != end {
			return fmt.Errorf("status %+v, want log end %d", st, end)
		}
		return nil
	})
	// Recovery read the batches after the last snapshot, not the log.
	if n := metric(t, c, "sluice_producer_state_replayed_batches_total"); n >= 30 {
		t.Fatalf("recovery replayed %v batches of 65 to rebuild the producer state", n)
	}
	for i := len(offsets) - 5; i < len(offsets); i++ {
		r := produce(producerBatch(t, 100, int32(i*4), false, 4))
		if r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != offsets[i] {
			t.Fatalf("retry of batch %d after the crash: %v %s at %d, want offset %d", i, r.ErrorCode, r.ErrorMessage, r.BaseOffset, offsets[i])
		}
	}
	if r := produce(producerBatch(t, 100, 63*4+1, false, 1)); r.ErrorCode != messages.ErrorCode_OUT_OF_ORDER_SEQUENCE_NUMBER {
		t.Fatalf("gap after the crash: %v", r.ErrorCode)
	}
	if r := produce(producerBatch(t, 100, 63*4, false, 1)); r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != end {
		t.Fatalf("next batch after the crash: %v at %d, want %d", r.ErrorCode, r.BaseOffset, end)
	}
	f := clustertest.Request[*messages.FetchResponse](t, cl, pid, &messages.FetchRequest{
		Topic: topic, Offset: 0, MaxBytes: 1 << 20, LeaderEpoch: -1, IsolationLevel: 1,
	})
	if f.ErrorCode != messages.ErrorCode_NONE || f.LastStableOffset != open {
		t.Fatalf("read_committed after the crash: %v lso %d, want %d (producer 300 open)", f.ErrorCode, f.LastStableOffset, open)
	}
	if len(f.AbortedTransactions) != 1 || f.AbortedTransactions[0].ProducerId != 200 || f.AbortedTransactions[0].FirstOffset != abortedFirst {
		t.Fatalf("aborted transactions after the crash: %v", f.AbortedTransactions)
	}
}
