package integration

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/txnstate"
)

// TestTransactionCoordinatorFailover SIGKILLs the node leading a
// transactional id's __transaction_state partition while transactions are
// open. The new coordinator rebuilds the state from the replicated log:
// the producer commits its open transaction there, and another id's open
// transaction, whose producer never comes back, is aborted at its timeout
// without any request for it.
func TestTransactionCoordinatorFailover(t *testing.T) {
	e := startEnv(t)
	const topic = "txn-failover"
	if _, err := e.cl.CreateTopic(e.ctx(), topic, 2, 3, map[string]string{"min.insync.replicas": "2"}); err != nil {
		t.Fatal(err)
	}
	e.waitInSync(topic)

	newTxnProducer := func(id string, timeout time.Duration) *client.Producer {
		p, err := client.NewProducer(e.cl, client.ProducerConfig{TransactionalID: id, TransactionTimeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.InitTransactions(e.ctx()); err != nil {
			t.Fatalf("init %s: %v", id, err)
		}
		return p
	}
	produce := func(p *client.Producer, partition int32, prefix string, n int) {
		for i := range n {
			if _, _, err := p.Produce(e.ctx(), &client.Record{Topic: topic, Partition: partition, Value: fmt.Appendf(nil, "%s-%d", prefix, i)}); err != nil {
				t.Fatalf("produce %s-%d: %v", prefix, i, err)
			}
		}
	}
	etl := newTxnProducer("etl", 30*time.Second)
	e.waitInSync(messages.TransactionStateTopic)
	// A second id coordinated by the same node, so one kill covers both.
	coordinator := e.leaderOf(messages.TransactionStateTopic, txnstate.StatePartition("etl", 50)).Leader
	silentID := ""
	for i := 0; silentID == ""; i++ {
		id := fmt.Sprintf("silent-%d", i)
		if e.leaderOf(messages.TransactionStateTopic, txnstate.StatePartition(id, 50)).Leader == coordinator {
			silentID = id
		}
	}
	silent := newTxnProducer(silentID, 3*time.Second)

	if err := etl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produce(etl, 0, "first", 5)
	if err := etl.CommitTransaction(e.ctx()); err != nil {
		t.Fatal(err)
	}
	if err := etl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produce(etl, 0, "second", 5)
	if err := silent.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produce(silent, 1, "silent", 3)

	t.Logf("killing node %d, coordinator of etl and %s", coordinator, silentID)
	e.c.Kill(e.index(coordinator))
	e.waitLeadersOff(messages.TransactionStateTopic, coordinator)

	// The producer commits through the new coordinator.
	if err := etl.CommitTransaction(e.ctx()); err != nil {
		t.Fatalf("commit after the coordinator failover: %v", err)
	}
	// The silent producer's transaction is aborted at its timeout: its
	// marker lands although nobody asks about it.
	e.waitFor("the silent transaction's abort marker", func() error {
		end, _, err := e.cl.ListOffsets(e.ctx(), topic, 1, -1)
		if err == nil && end != 4 {
			err = fmt.Errorf("log end %d, want 4", end)
		}
		return err
	})
	e.c.StartNode(e.index(coordinator))
	for id, want := range map[string]string{"etl": "CompleteCommit", silentID: "CompleteAbort"} {
		d, err := e.cl.DescribeTransaction(e.ctx(), id)
		if err != nil || d.State != want {
			t.Fatalf("%s: %+v %v, want %s", id, d, err, want)
		}
	}
	if err := silent.CommitTransaction(e.ctx()); err == nil {
		t.Fatal("the aborted silent transaction committed")
	}

	// Partition 0: five records, a marker, five records, a marker.
	cs, err := client.NewConsumer(e.cl, client.ConsumerConfig{AutoOffsetReset: client.ResetEarliest})
	if err != nil {
		t.Fatal(err)
	}
	cs.Assign(client.TopicPartition{Topic: topic, Partition: 0})
	got := map[int64]string{}
	for len(got) < 10 {
		recs, err := cs.Poll(e.ctx())
		if err != nil {
			t.Fatalf("poll after %d records: %v", len(got), err)
		}
		for _, r := range recs {
			got[r.Offset] = string(r.Value)
		}
	}
	offsets := slices.Sorted(maps.Keys(got))
	if want := []int64{0, 1, 2, 3, 4, 6, 7, 8, 9, 10}; !slices.Equal(offsets, want) {
		t.Fatalf("partition 0 offsets %v, want %v (%v)", offsets, want, got)
	}
	if got[6] != "second-0" {
		t.Fatalf("offset 6 holds %q", got[6])
	}
	if end, _, err := e.cl.ListOffsets(e.ctx(), topic, 0, -1); err != nil || end != 12 {
		t.Fatalf("partition 0 ends at %d %v, want 12", end, err)
	}
}
