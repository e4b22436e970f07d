package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// produceTxn produces values in one transaction of cl and commits or
// aborts it.
func produceTxn(t *testing.T, cl *kgo.Client, topic string, commit bool, values ...string) {
	t.Helper()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for _, v := range values {
		recs = append(recs, &kgo.Record{Topic: topic, Value: []byte(v)})
	}
	if err := cl.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(testCtx(t), kgo.TransactionEndTry(commit)); err != nil {
		t.Fatalf("end transaction (commit %v): %v", commit, err)
	}
}

// readAll consumes topic from the start at isolation until it has read
// the value last, and returns every value read in order.
func readAll(t *testing.T, c *clustertest.Cluster, topic string, isolation kgo.IsolationLevel, last string) []string {
	t.Helper()
	cl := newClient(t, c, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(isolation))
	var got []string
	for len(got) == 0 || got[len(got)-1] != last {
		fs := cl.PollFetches(testCtx(t))
		if err := fs.Err0(); err != nil {
			t.Fatalf("read %s: %v (read %v)", topic, err, got)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got
}

func values(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// TestKgoTransactionCommitAbort commits, aborts and commits transactions
// of a kgo transactional producer: read_committed sees only the committed
// records, read_uncommitted all of them; the admin requests describe the
// id, list it and show the producer on the partition; a second instance
// of the id fences the first.
func TestKgoTransactionCommitAbort(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	admin := newClient(t, c)
	const topic, id = "txn-out", "kgo-txn"
	createTopic(t, admin, topic, 1, nil)
	p := newClient(t, c, kgo.TransactionalID(id), kgo.RequiredAcks(kgo.AllISRAcks()))

	produceTxn(t, p, topic, true, values("c1", 5)...)
	produceTxn(t, p, topic, false, values("a", 5)...)
	produceTxn(t, p, topic, true, values("c2", 5)...)

	committed := append(values("c1", 5), values("c2", 5)...)
	got := readAll(t, c, topic, kgo.ReadCommitted(), "c2-4")
	if strings.Join(got, ",") != strings.Join(committed, ",") {
		t.Fatalf("read_committed read %v, want %v", got, committed)
	}
	all := append(append(values("c1", 5), values("a", 5)...), values("c2", 5)...)
	got = readAll(t, c, topic, kgo.ReadUncommitted(), "c2-4")
	if strings.Join(got, ",") != strings.Join(all, ",") {
		t.Fatalf("read_uncommitted read %v, want %v", got, all)
	}

	// DescribeTransactions at the coordinator: the id, no transaction open.
	dt := kmsg.NewPtrDescribeTransactionsRequest()
	dt.TransactionalIDs = []string{id, "no-such-id"}
	dresp, err := dt.RequestWith(testCtx(t), admin)
	if err != nil {
		t.Fatal(err)
	}
	if len(dresp.TransactionStates) != 2 {
		t.Fatalf("describe: %+v", dresp.TransactionStates)
	}
	d := dresp.TransactionStates[0]
	if d.ErrorCode != 0 || d.TransactionalID != id || d.ProducerID < 0 || !strings.HasPrefix(d.State, "Complete") {
		t.Fatalf("describe %s: %+v", id, d)
	}
	if d := dresp.TransactionStates[1]; d.ErrorCode != kerr.TransactionalIDNotFound.Code {
		t.Fatalf("describe unknown id: %+v", d)
	}

	// ListTransactions names the id with its producer id.
	lt := kmsg.NewPtrListTransactionsRequest()
	lt.StateFilters = []string{"CompleteCommit", "Bogus"}
	lresp, err := lt.RequestWith(testCtx(t), admin)
	if err != nil {
		t.Fatal(err)
	}
	if lresp.ErrorCode != 0 || len(lresp.TransactionStates) != 1 || lresp.TransactionStates[0].TransactionalID != id ||
		lresp.TransactionStates[0].ProducerID != d.ProducerID || len(lresp.UnknownStateFilters) != 1 {
		t.Fatalf("list: %+v", lresp)
	}

	// DescribeProducers on the partition: the producer, nothing open; an
	// unknown partition has its own error (sent to the node itself, as
	// kgo would answer that one without asking).
	dp := kmsg.NewPtrDescribeProducersRequest()
	rt := kmsg.NewDescribeProducersRequestTopic()
	rt.Topic, rt.Partitions = topic, []int32{0, 7}
	dp.Topics = append(dp.Topics, rt)
	presp, err := dp.RequestWith(testCtx(t), admin.Broker(1))
	if err != nil {
		t.Fatal(err)
	}
	parts := presp.Topics[0].Partitions
	if len(parts) != 2 || parts[0].ErrorCode != 0 || len(parts[0].ActiveProducers) != 1 ||
		parts[0].ActiveProducers[0].ProducerID != d.ProducerID || parts[0].ActiveProducers[0].CurrentTxnStartOffset != -1 ||
		parts[1].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("describe producers: %+v", parts)
	}

	// A second instance fences the first: its next transaction fails.
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	p.ProduceSync(testCtx(t), &kgo.Record{Topic: topic, Value: []byte("open")})
	if open := describeOne(t, admin, id); open.State != "Ongoing" || len(open.Topics) != 1 {
		t.Fatalf("open transaction described as %+v", open)
	}
	p2 := newClient(t, c, kgo.TransactionalID(id))
	if err := p2.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produceInit(t, p2, topic)
	err = p.EndTransaction(testCtx(t), kgo.TryCommit)
	if !errors.Is(err, kerr.ProducerFenced) && !errors.Is(err, kerr.InvalidProducerEpoch) {
		t.Fatalf("fenced instance's commit: %v", err)
	}
	if err := p2.EndTransaction(testCtx(t), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	got = readAll(t, c, topic, kgo.ReadCommitted(), "p2")
	if n := len(got); n != 11 || got[n-1] != "p2" {
		t.Fatalf("after the fence read_committed read %v", got)
	}
}

// produceInit produces one record "p2" in cl's open transaction (the
// first produce of a transactional kgo client runs InitProducerId).
func produceInit(t *testing.T, cl *kgo.Client, topic string) {
	t.Helper()
	if err := cl.ProduceSync(testCtx(t), &kgo.Record{Topic: topic, Value: []byte("p2")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// describeOne describes one transactional id, retrying while its
// coordinator answers a retriable error.
func describeOne(t *testing.T, cl *kgo.Client, id string) kmsg.DescribeTransactionsResponseTransactionState {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		req := kmsg.NewPtrDescribeTransactionsRequest()
		req.TransactionalIDs = []string{id}
		ctx, cancel := context.WithTimeout(testCtx(t), 5*time.Second)
		resp, err := req.RequestWith(ctx, cl)
		cancel()
		if err == nil && len(resp.TransactionStates) == 1 && resp.TransactionStates[0].ErrorCode == 0 {
			return resp.TransactionStates[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("describe %s: %v %+v", id, err, resp)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
