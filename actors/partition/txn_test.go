package partition

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

// txnBatch builds a transactional batch of values from producer pid.
func txnBatch(t testing.TB, pid int64, epoch int16, seq int32, values ...string) []byte {
	t.Helper()
	opts := batch.DefaultEncodeOptions()
	opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence, opts.Transactional = pid, epoch, seq, true
	recs := make([]batch.Record, len(values))
	for i, v := range values {
		recs[i] = batch.Record{Timestamp: baseTime, Value: []byte(v)}
	}
	b, err := batch.Encode(recs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (h *harness) marker(pid int64, epoch, coordinatorEpoch int32, committed bool) *messages.WriteTxnMarkerResponse {
	h.t.Helper()
	return request[*messages.WriteTxnMarkerResponse](h, &messages.WriteTxnMarkerRequest{
		Topic: h.cfg.Topic, ProducerId: pid, ProducerEpoch: epoch, CoordinatorEpoch: coordinatorEpoch,
		Committed: committed, LeaderEpoch: -1,
	})
}

func (h *harness) fetchIsolated(offset int64, isolation int32) *messages.FetchResponse {
	h.t.Helper()
	return request[*messages.FetchResponse](h, &messages.FetchRequest{
		Topic: h.cfg.Topic, Offset: offset, MaxBytes: 1 << 20, LeaderEpoch: -1, IsolationLevel: isolation,
	})
}

func (h *harness) latest(isolation int32) int64 {
	h.t.Helper()
	r := request[*messages.ListOffsetsResponse](h, &messages.ListOffsetsRequest{
		Topic: h.cfg.Topic, Timestamp: LatestTimestamp, LeaderEpoch: -1, IsolationLevel: isolation,
	})
	wantCode(h.t.(*testing.T), r.ErrorCode, messages.ErrorCode_NONE, r.ErrorMessage)
	return r.Offset
}

// dataValues is values without the control batches.
func dataValues(t *testing.T, raw []byte) []string {
	t.Helper()
	var out []string
	for rest := raw; len(rest) > 0; {
		h, err := batch.ParseHeader(rest)
		if err != nil {
			t.Fatal(err)
		}
		if !h.Attributes.Control() {
			out = append(out, values(t, rest[:h.Size()])...)
		}
		rest = rest[h.Size():]
	}
	return out
}

func aborted(f *messages.FetchResponse) string {
	out := ""
	for _, a := range f.AbortedTransactions {
		out += fmt.Sprintf("[%d@%d]", a.ProducerId, a.FirstOffset)
	}
	return out
}

// checkTxnView checks what read_committed and read_uncommitted see of the
// log TestTransactionalPartition builds.
func checkTxnView(t *testing.T, h *harness) {
	t.Helper()
	// 0-1 producer 7 (aborted at 3), 2 plain, 3 abort marker, 4 producer
	// 8 (committed at 6), 5 producer 9 (open), 6 commit marker.
	if lso := h.latest(ReadCommitted); lso != 5 {
		t.Fatalf("read_committed latest %d, want 5 (producer 9 open)", lso)
	}
	if hw := h.latest(ReadUncommitted); hw != 7 {
		t.Fatalf("read_uncommitted latest %d, want 7", hw)
	}
	f := h.fetchIsolated(0, ReadCommitted)
	if f.LastStableOffset != 5 || aborted(f) != "[7@0]" {
		t.Fatalf("read_committed: lso %d aborted %s", f.LastStableOffset, aborted(f))
	}
	if got := fmt.Sprint(dataValues(t, f.Records)); got != "[0:a1 1:a2 2:plain 4:c1]" {
		t.Fatalf("read_committed records %s", got)
	}
	f = h.fetchIsolated(4, ReadCommitted)
	if aborted(f) != "" {
		t.Fatalf("read_committed from 4: aborted %s", aborted(f))
	}
	f = h.fetchIsolated(0, ReadUncommitted)
	if len(f.AbortedTransactions) != 0 || f.LastStableOffset != 5 {
		t.Fatalf("read_uncommitted: aborted %s lso %d", aborted(f), f.LastStableOffset)
	}
	if got := fmt.Sprint(dataValues(t, f.Records)); got != "[0:a1 1:a2 2:plain 4:c1 5:open]" {
		t.Fatalf("read_uncommitted records %s", got)
	}
}

func TestTransactionalPartition(t *testing.T) {
	h := newHarness(t, nil)
	wantCode(t, h.produce(txnBatch(t, 7, 0, 0, "a1", "a2"), -1).ErrorCode, messages.ErrorCode_NONE, "")
	wantCode(t, h.produce(encode(t, 0, "plain"), -1).ErrorCode, messages.ErrorCode_NONE, "")
	if lso := h.latest(ReadCommitted); lso != 0 {
		t.Fatalf("lso %d with producer 7's transaction open at 0", lso)
	}
	if f := h.fetchIsolated(0, ReadCommitted); len(f.Records) != 0 {
		t.Fatalf("read_committed read %d bytes of an open transaction", len(f.Records))
	}
	// A plain batch from a producer inside a transaction is refused.
	r := h.produce(idem(t, 7, 0, 2, "stray"), 1)
	wantCode(t, r.ErrorCode, messages.ErrorCode_INVALID_TXN_STATE, r.ErrorMessage)

	m := h.marker(7, 0, 3, false)
	wantCode(t, m.ErrorCode, messages.ErrorCode_NONE, m.ErrorMessage)
	if m.Offset != 3 {
		t.Fatalf("abort marker at %d", m.Offset)
	}
	wantCode(t, h.produce(txnBatch(t, 8, 0, 0, "c1"), -1).ErrorCode, messages.ErrorCode_NONE, "")
	wantCode(t, h.produce(txnBatch(t, 9, 0, 0, "open"), -1).ErrorCode, messages.ErrorCode_NONE, "")
	wantCode(t, h.marker(8, 0, 3, true).ErrorCode, messages.ErrorCode_NONE, "")
	checkTxnView(t, h)

	d := request[*messages.DescribeProducersResponse](h, &messages.DescribeProducersRequest{Topic: h.cfg.Topic, LeaderEpoch: -1})
	wantCode(t, d.ErrorCode, messages.ErrorCode_NONE, d.ErrorMessage)
	var desc []string
	for _, p := range d.Producers {
		desc = append(desc, fmt.Sprintf("%d/%d seq %d coord %d txn %d", p.ProducerId, p.ProducerEpoch, p.LastSequence, p.CoordinatorEpoch, p.CurrentTxnStartOffset))
	}
	if got := fmt.Sprint(desc); got != "[7/0 seq 1 coord 3 txn -1 8/0 seq 0 coord 3 txn -1 9/0 seq 0 coord -1 txn 5]" || d.LastStableOffset != 5 {
		t.Fatalf("described %s lso %d", got, d.LastStableOffset)
	}

	// Fencing: a marker with an older coordinator epoch than the
	// producer's last one, or an older producer epoch.
	wantCode(t, h.marker(8, 0, 2, true).ErrorCode, messages.ErrorCode_TRANSACTION_COORDINATOR_FENCED, "")
	wantCode(t, h.produce(txnBatch(t, 9, 1, 0, "bumped"), 1).ErrorCode, messages.ErrorCode_NONE, "")
	wantCode(t, h.marker(9, 0, 3, false).ErrorCode, messages.ErrorCode_INVALID_PRODUCER_EPOCH, "")
}

// After a clean restart, and after a crash with every snapshot and index
// file gone, the open transactions and aborted index are rebuilt.
func TestTransactionStateRecovered(t *testing.T) {
	h := newHarness(t, nil)
	wantCode(t, h.produce(txnBatch(t, 7, 0, 0, "a1", "a2"), -1).ErrorCode, messages.ErrorCode_NONE, "")
	wantCode(t, h.produce(encode(t, 0, "plain"), -1).ErrorCode, messages.ErrorCode_NONE, "")
	wantCode(t, h.marker(7, 0, 3, false).ErrorCode, messages.ErrorCode_NONE, "")
	wantCode(t, h.produce(txnBatch(t, 8, 0, 0, "c1"), -1).ErrorCode, messages.ErrorCode_NONE, "")
	wantCode(t, h.produce(txnBatch(t, 9, 0, 0, "open"), -1).ErrorCode, messages.ErrorCode_NONE, "")
	wantCode(t, h.marker(8, 0, 3, true).ErrorCode, messages.ErrorCode_NONE, "")
	h.stop()
	if idx, _ := filepath.Glob(filepath.Join(h.cfg.Dir, "*.txnindex")); len(idx) != 1 {
		t.Fatalf("index files %v", idx)
	}
	h.start()
	checkTxnView(t, h)
	h.stop()
	// A damaged index entry: the index is rebuilt from the whole log.
	idx, _ := filepath.Glob(filepath.Join(h.cfg.Dir, "*.txnindex"))
	b, err := os.ReadFile(idx[0])
	if err != nil {
		t.Fatal(err)
	}
	b[1] = 7 // the version of the first entry
	if err := os.WriteFile(idx[0], b, 0o644); err != nil {
		t.Fatal(err)
	}
	h.start()
	checkTxnView(t, h)
	h.stop()
	for _, pattern := range []string{"*.snapshot", "*.txnindex", commitlog.CleanShutdownFile} {
		files, _ := filepath.Glob(filepath.Join(h.cfg.Dir, pattern))
		for _, f := range files {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	h.start()
	checkTxnView(t, h)
}

// A follower builds the open transactions and the aborted index from what
// it replicates: as the new leader it holds the same view.
func TestFollowerTransactionStateAfterLeaderChange(t *testing.T) {
	g := newReplicaGroup(t, []int32{1, 2}, nil, nil)
	g.startAll(State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	wantCode(t, g.produce(1, txnBatch(t, 7, 0, 0, "a1"), -1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	wantCode(t, g.writeMarker(1, 7, 0, false).ErrorCode, messages.ErrorCode_NONE, "")
	wantCode(t, g.produce(1, txnBatch(t, 9, 0, 0, "open"), -1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	g.waitCaughtUp(1)
	moved := State{Leader: 2, LeaderEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Version: 2}
	g.update(1, moved)
	g.update(2, moved)
	var f *messages.FetchResponse
	waitFor(t, waitTimeout, func() error {
		f = groupRequest[*messages.FetchResponse](g, 2, &messages.FetchRequest{
			Topic: "orders", Offset: 0, MaxBytes: 1 << 20, LeaderEpoch: -1, IsolationLevel: ReadCommitted,
		})
		if f.ErrorCode != messages.ErrorCode_NONE || f.LastStableOffset != 2 {
			return fmt.Errorf("new leader: %v lso %d", f.ErrorCode, f.LastStableOffset)
		}
		return nil
	})
	if aborted(f) != "[7@0]" {
		t.Fatalf("new leader's aborted transactions %s", aborted(f))
	}
}
