package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

// fixture is one node with a topic of records and a group with commits,
// shared by the API and browser tests.
type fixture struct {
	c    *clustertest.Cluster
	cl   *client.Client
	base string // http://host:port of the admin HTTP server
}

// Names and counts of the fixture's data.
const (
	ordersTopic      = "orders"
	ordersPartitions = 3
	ordersRecords    = 12 // on partition 0
	billingGroup     = "billing"
	billingCommitted = 4 // committed offset of every orders partition
)

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startFixture starts a node, creates orders (3 partitions), produces
// ordersRecords JSON records with a header to partition 0 and one record
// to each other partition, and commits billing's offsets at
// billingCommitted (at most each partition's end).
func startFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := testCtx(t)
	c := clustertest.Start(t, 1)
	cl, err := client.New(ctx, client.Config{Seeds: []string{c.Addr(0)}, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close(context.Background()) })
	if _, err := cl.CreateTopic(ctx, ordersTopic, ordersPartitions, 1, map[string]string{"retention.ms": "86400000"}); err != nil {
		t.Fatal(err)
	}
	p, err := client.NewProducer(cl, client.ProducerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Close(context.Background()) }()
	for i := range ordersRecords {
		rec := &client.Record{Topic: ordersTopic, Partition: 0, Key: fmt.Appendf(nil, "order-%d", i),
			Value:   fmt.Appendf(nil, `{"id":%d,"item":"widget-%d"}`, i, i),
			Headers: []client.RecordHeader{{Key: "source", Value: []byte("e2e")}}}
		if _, _, err := p.Produce(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}
	for part := int32(1); part < ordersPartitions; part++ {
		if _, _, err := p.Produce(ctx, &client.Record{Topic: ordersTopic, Partition: part, Value: []byte("plain text")}); err != nil {
			t.Fatal(err)
		}
	}
	offsets := map[client.TopicPartition]int64{}
	for part := range int32(ordersPartitions) {
		end, _, err := cl.ListOffsets(ctx, ordersTopic, part, client.LatestTimestamp)
		if err != nil {
			t.Fatal(err)
		}
		offsets[client.TopicPartition{Topic: ordersTopic, Partition: part}] = min(end, billingCommitted)
	}
	if err := cl.CommitGroupOffsets(ctx, billingGroup, offsets); err != nil {
		t.Fatal(err)
	}
	return &fixture{c: c, cl: cl, base: "http://" + c.HTTP(0)}
}

// TestConsole runs the API and browser tests against one node.
func TestConsole(t *testing.T) {
	f := startFixture(t)
	t.Run("API", func(t *testing.T) { testAPI(t, f) })
	t.Run("Browser", func(t *testing.T) { testBrowser(t, f) })
}
