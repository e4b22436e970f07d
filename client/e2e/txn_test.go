package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/messages"
)

func newTxnProducer(t *testing.T, cl *client.Client, id string) *client.Producer {
	t.Helper()
	p := newProducer(t, cl, client.ProducerConfig{Acks: client.AcksAll, TransactionalID: id, TransactionTimeout: 20 * time.Second})
	if err := p.InitTransactions(testCtx(t)); err != nil {
		t.Fatalf("init transactions %q: %v", id, err)
	}
	return p
}

// produceTxn writes values to topic partition 0 in the open transaction
// and waits for their acknowledgements.
func produceTxn(t *testing.T, p *client.Producer, topic string, values ...string) {
	t.Helper()
	for _, v := range values {
		if _, _, err := p.Produce(testCtx(t), &client.Record{Topic: topic, Partition: 0, Value: []byte(v)}); err != nil {
			t.Fatalf("produce %q: %v", v, err)
		}
	}
}

// consumeValues reads partition 0 of topic from the start with the given
// isolation until n records arrived, and returns their values.
func consumeValues(t *testing.T, cl *client.Client, topic string, level client.IsolationLevel, n int) []string {
	t.Helper()
	cs := newConsumer(t, cl, client.ConsumerConfig{IsolationLevel: level, AutoOffsetReset: client.ResetEarliest})
	cs.Assign(client.TopicPartition{Topic: topic, Partition: 0})
	var out []string
	for _, r := range pollN(t, cs, n) {
		out = append(out, string(r.Value))
	}
	return out
}

func values(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// TestTransactions runs transactional producers against one sluiced
// process: every commit and abort ends with a marker in the partition,
// read_committed consumers see committed records only, a second instance
// fences the first (its open transaction is aborted, its commit refused),
// and offsets sent with a transaction count only if it commits.
func TestTransactions(t *testing.T) {
	c := clustertest.Start(t, 1)
	cl := newClient(t, c)
	const topic = "txn-out"
	createTopic(t, cl, topic, 1, nil)
	ctx := testCtx(t)

	p1 := newTxnProducer(t, cl, "etl")
	// Committed, aborted, then one left open.
	for _, step := range []struct {
		prefix string
		commit bool
	}{{"committed", true}, {"aborted", false}} {
		if err := p1.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		produceTxn(t, p1, topic, values(step.prefix, 5)...)
		end := p1.AbortTransaction
		if step.commit {
			end = p1.CommitTransaction
		}
		if err := end(ctx); err != nil {
			t.Fatalf("end %s: %v", step.prefix, err)
		}
	}
	if err := p1.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produceTxn(t, p1, topic, "zombie-0")

	// A read_uncommitted consumer sees everything written, markers aside.
	want := append(append(values("committed", 5), values("aborted", 5)...), "zombie-0")
	if got := consumeValues(t, cl, topic, client.ReadUncommitted, len(want)); !slices.Equal(got, want) {
		t.Fatalf("read_uncommitted %v, want %v", got, want)
	}

	// A second instance fences the first: its open transaction is aborted
	// and it can neither commit nor write.
	p2 := newTxnProducer(t, cl, "etl")
	if err := p1.CommitTransaction(ctx); !errors.Is(err, messages.ErrProducerFenced) {
		t.Fatalf("zombie commit: %v, want PRODUCER_FENCED", err)
	}

	// The new instance commits offsets with its transaction; an aborted
	// transaction's offsets are dropped.
	group := client.ConsumerGroupMetadata{GroupID: "etl-group", Generation: -1}
	in := client.TopicPartition{Topic: "in", Partition: 0}
	for _, step := range []struct {
		value  string
		offset int64
		commit bool
	}{{"p2-0", 42, true}, {"p2-aborted", 99, false}} {
		if err := p2.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		produceTxn(t, p2, topic, step.value)
		if err := p2.SendOffsetsToTransaction(ctx, map[client.TopicPartition]int64{in: step.offset}, group); err != nil {
			t.Fatalf("send offsets: %v", err)
		}
		end := p2.AbortTransaction
		if step.commit {
			end = p2.CommitTransaction
		}
		if err := end(ctx); err != nil {
			t.Fatalf("end %s: %v", step.value, err)
		}
	}
	committed, err := cl.CommittedOffsets(ctx, group.GroupID, in)
	if err != nil || committed[in].Offset != 42 {
		t.Fatalf("committed offsets %v %v, want 42", committed, err)
	}
	if err := p2.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produceTxn(t, p2, topic, "p2-last")
	if err := p2.CommitTransaction(ctx); err != nil {
		t.Fatal(err)
	}

	// Every transaction ended with a marker in the partition, the
	// zombie's included (aborted by the fence): read_uncommitted shows the
	// records with one offset left out after each transaction.
	cs := newConsumer(t, cl, client.ConsumerConfig{AutoOffsetReset: client.ResetEarliest})
	cs.Assign(client.TopicPartition{Topic: topic, Partition: 0})
	var offsets []int64
	var got []string
	for _, r := range pollN(t, cs, 14) {
		offsets = append(offsets, r.Offset)
		got = append(got, string(r.Value))
	}
	wantOffsets := []int64{0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 14, 16, 18}
	if !slices.Equal(offsets, wantOffsets) {
		t.Fatalf("record offsets %v (%v), want %v", offsets, got, wantOffsets)
	}
	if end, _, err := cl.ListOffsets(ctx, topic, 0, -1); err != nil || end != 20 {
		t.Fatalf("log end %d %v, want 20 (after the last marker)", end, err)
	}

	// read_committed: the committed records only, in order; the zombie's
	// and the aborted ones never.
	want = append(values("committed", 5), "p2-0", "p2-last")
	if got := consumeValues(t, cl, topic, client.ReadCommitted, len(want)); !slices.Equal(got, want) {
		t.Fatalf("read_committed %v, want %v", got, want)
	}
	// The zombie stays fenced.
	if err := p1.BeginTransaction(); !errors.Is(err, messages.ErrProducerFenced) {
		t.Fatalf("zombie begin: %v", err)
	}

	// A producer that begins a transaction and goes silent is aborted
	// after its transaction timeout, and fenced.
	silent := newProducer(t, cl, client.ProducerConfig{TransactionalID: "silent", TransactionTimeout: 500 * time.Millisecond})
	if err := silent.InitTransactions(ctx); err != nil {
		t.Fatal(err)
	}
	if err := silent.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produceTxn(t, silent, topic, "silent-0")
	for {
		d, err := cl.DescribeTransaction(ctx, "silent")
		if err != nil {
			t.Fatal(err)
		}
		if d.State == "CompleteAbort" {
			if d.ProducerEpoch != 1 || len(d.Partitions) != 0 {
				t.Fatalf("after the timeout %+v", d)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("never aborted: %+v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := silent.CommitTransaction(ctx); !errors.Is(err, messages.ErrProducerFenced) {
		t.Fatalf("commit after the timeout: %v, want PRODUCER_FENCED", err)
	}
	// The abort moved the last stable offset past the silent producer's
	// record: a transaction committed after it is visible to read_committed
	// consumers, and the silent record never is.
	if err := p2.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produceTxn(t, p2, topic, "after-silent")
	if err := p2.CommitTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	want = append(want, "after-silent")
	if got := consumeValues(t, cl, topic, client.ReadCommitted, len(want)); !slices.Equal(got, want) {
		t.Fatalf("read_committed after the timeout %v, want %v", got, want)
	}

	// The CLI lists and describes them.
	var listed []client.TransactionListing
	if err := json.Unmarshal([]byte(cliOK(t, c, "", "txn", "list", "-o", "json")), &listed); err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, l := range listed {
		states[l.TransactionalID] = l.State
	}
	if states["etl"] != "CompleteCommit" || states["silent"] != "CompleteAbort" || len(states) != 2 {
		t.Fatalf("txn list: %v", listed)
	}
	if out := cliOK(t, c, "", "txn", "list", "--state", "CompleteAbort"); !strings.Contains(out, "silent") || strings.Contains(out, "etl") {
		t.Fatalf("txn list --state CompleteAbort:\n%s", out)
	}
	if out := cliOK(t, c, "", "txn", "describe", "etl"); !strings.Contains(out, "CompleteCommit") || !strings.Contains(out, "PRODUCER-EPOCH") {
		t.Fatalf("txn describe:\n%s", out)
	}
	if code, _, errOut := cliRun(t, c, "", "txn", "describe", "nobody"); code == 0 || !strings.Contains(errOut, "TRANSACTIONAL_ID_NOT_FOUND") {
		t.Fatalf("describe of an unknown id: exit %d, %s", code, errOut)
	}

	// sluice produce in transactions of 4 lines; consume read_committed.
	createTopic(t, cl, "txn-cli", 1, nil)
	var lines strings.Builder
	for i := range 10 {
		fmt.Fprintf(&lines, "line-%d\n", i)
	}
	cliOK(t, c, lines.String(), "produce", "txn-cli", "--transactional-id", "cli-etl", "--txn-records", "4")
	out := cliOK(t, c, "", "consume", "txn-cli", "--from-beginning", "--isolation", "read_committed", "--max-messages", "10")
	if want := strings.Join(values("line", 10), "\n") + "\n"; out != want {
		t.Fatalf("consume read_committed:\n%s\nwant\n%s", out, want)
	}
	// Three transactions: three markers after 4, 8 and 10 records.
	if end, _, err := cl.ListOffsets(ctx, "txn-cli", 0, -1); err != nil || end != 13 {
		t.Fatalf("log end %d %v, want 13", end, err)
	}
	if d, err := cl.DescribeTransaction(ctx, "cli-etl"); err != nil || d.State != "CompleteCommit" {
		t.Fatalf("cli-etl %+v %v", d, err)
	}
	if code, _, _ := cliRun(t, c, "", "consume", "txn-cli", "--isolation", "snapshot"); code == 0 {
		t.Fatal("unknown isolation level accepted")
	}

	// An open transaction holds the last stable offset; `txn producers`
	// shows it and `txn abort` ends it in the partition, so read_committed
	// consumers go on.
	createTopic(t, cl, "txn-hang", 1, nil)
	hang := newTxnProducer(t, cl, "hang")
	if err := hang.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produceTxn(t, hang, "txn-hang", "hanging-0")
	var prods client.PartitionProducers
	if err := json.Unmarshal([]byte(cliOK(t, c, "", "txn", "producers", "txn-hang", "0", "-o", "json")), &prods); err != nil {
		t.Fatal(err)
	}
	if prods.LastStableOffset != 0 || prods.HighWatermark != 1 || len(prods.Producers) != 1 || prods.Producers[0].CurrentTxnStartOffset != 0 {
		t.Fatalf("txn producers: %+v", prods)
	}
	if out := cliOK(t, c, "", "txn", "abort", "--topic", "txn-hang", "--partition", "0", "--start-offset", "0"); !strings.Contains(out, "aborted") {
		t.Fatalf("txn abort: %s", out)
	}
	d, err := cl.DescribeProducers(ctx, "txn-hang", 0)
	if err != nil || d.LastStableOffset != 2 || d.Producers[0].CurrentTxnStartOffset != -1 {
		t.Fatalf("after txn abort: %+v %v", d, err)
	}
	if code, _, errOut := cliRun(t, c, "", "txn", "abort", "--topic", "txn-hang", "--partition", "0", "--start-offset", "7"); code == 0 ||
		!strings.Contains(errOut, "no open transaction") {
		t.Fatalf("abort of nothing: exit %d %s", code, errOut)
	}
}
