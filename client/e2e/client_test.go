package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/client/partitioner"
	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// TestClientSingleNode runs the client against one sluiced process; the
// subtests share the node and the client, each with its own topics.
func TestClientSingleNode(t *testing.T) {
	c := clustertest.Start(t, 1)
	cl := newClient(t, c)
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, cl) })
	t.Run("TypedErrors", func(t *testing.T) { testTypedErrors(t, cl) })
	t.Run("OffsetOutOfRange", func(t *testing.T) { testOffsetOutOfRange(t, cl) })
	t.Run("LongPoll", func(t *testing.T) { testLongPoll(t, c, cl) })
	t.Run("Seeks", func(t *testing.T) { testSeeks(t, cl) })
	t.Run("Admin", func(t *testing.T) { testAdmin(t, cl) })
}

func newProducer(t *testing.T, cl *client.Client, cfg client.ProducerConfig) *client.Producer {
	t.Helper()
	p, err := client.NewProducer(cl, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(context.Background()) })
	return p
}

func newConsumer(t *testing.T, cl *client.Client, cfg client.ConsumerConfig) *client.Consumer {
	t.Helper()
	cs, err := client.NewConsumer(cl, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close(context.Background()) })
	return cs
}

func createTopic(t *testing.T, cl *client.Client, name string, partitions int32, configs map[string]string) {
	t.Helper()
	if _, err := cl.CreateTopic(testCtx(t), name, partitions, 1, configs); err != nil {
		t.Fatal(err)
	}
}

// pollN polls until n records arrived.
func pollN(t *testing.T, cs *client.Consumer, n int) []*client.Record {
	t.Helper()
	ctx := testCtx(t)
	var out []*client.Record
	for len(out) < n {
		recs, err := cs.Poll(ctx)
		if err != nil {
			t.Fatalf("Poll after %d of %d records: %v", len(out), n, err)
		}
		out = append(out, recs...)
	}
	return out
}

func testRoundTrip(t *testing.T, cl *client.Client) {
	const topic, partitions, n = "round-trip", 3, 3000
	createTopic(t, cl, topic, partitions, nil)
	p := newProducer(t, cl, client.ProducerConfig{Acks: client.AcksAll, Compression: batch.CodecZstd, BatchBytes: 16 << 10})
	var mu sync.Mutex
	offsets := map[int32][]int64{}
	for i := 0; i < n; i++ {
		key := []byte(fmt.Sprintf("key-%d", i%100))
		p.ProduceAsync(context.Background(), &client.Record{Topic: topic, Partition: client.AnyPartition, Key: key, Value: []byte(fmt.Sprint(i)),
			Headers: []client.RecordHeader{{Key: "n", Value: []byte(fmt.Sprint(i))}}},
			func(md client.RecordMetadata, err error) {
				if err != nil {
					t.Errorf("record %d: %v", i, err)
					return
				}
				mu.Lock()
				offsets[md.Partition] = append(offsets[md.Partition], md.Offset)
				mu.Unlock()
			})
	}
	if err := p.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	for part, offs := range offsets {
		for i, off := range offs {
			if off != int64(i) {
				t.Fatalf("partition %d: callback %d got offset %d", part, i, off)
			}
		}
	}

	cs := newConsumer(t, cl, client.ConsumerConfig{AutoOffsetReset: client.ResetEarliest, FetchMaxBytes: 32 << 10})
	var tps []client.TopicPartition
	for i := int32(0); i < partitions; i++ {
		tps = append(tps, client.TopicPartition{Topic: topic, Partition: i})
	}
	cs.Assign(tps...)
	recs := pollN(t, cs, n)
	if len(recs) != n {
		t.Fatalf("consumed %d records, want %d", len(recs), n)
	}
	next := map[int32]int64{}
	lastValue := map[string]int{}
	for _, r := range recs {
		if want := int32(partitioner.KeyPartition(r.Key, partitions)); r.Partition != want {
			t.Fatalf("key %s on partition %d, murmur2 says %d", r.Key, r.Partition, want)
		}
		if r.Offset != next[r.Partition] {
			t.Fatalf("partition %d: offset %d, want %d", r.Partition, r.Offset, next[r.Partition])
		}
		next[r.Partition]++
		var v int
		fmt.Sscan(string(r.Value), &v)
		if prev, ok := lastValue[string(r.Key)]; ok && v <= prev {
			t.Fatalf("key %s: value %d after %d (order per key lost)", r.Key, v, prev)
		}
		lastValue[string(r.Key)] = v
		if len(r.Headers) != 1 || string(r.Headers[0].Value) != string(r.Value) {
			t.Fatalf("headers %+v of %s", r.Headers, r.Value)
		}
	}
	d, err := cl.DescribeTopic(testCtx(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range d.Partitions {
		if ps.Err != nil || ps.LogEndOffset != next[ps.Partition] || ps.HighWatermark != next[ps.Partition] {
			t.Fatalf("describe partition %+v, consumed %d", ps, next[ps.Partition])
		}
	}
}

func testTypedErrors(t *testing.T, cl *client.Client) {
	ctx := testCtx(t)
	createTopic(t, cl, "typed", 1, map[string]string{"max.message.bytes": "2000"})
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"list offsets of a missing topic", func() error { _, _, err := cl.ListOffsets(ctx, "missing", 0, client.LatestTimestamp); return err }(),
			messages.ErrUnknownTopicOrPartition},
		{"describe a missing topic", func() error { _, err := cl.DescribeTopic(ctx, "missing"); return err }(),
			messages.ErrUnknownTopicOrPartition},
		{"missing partition", func() error { _, _, err := cl.ListOffsets(ctx, "typed", 7, client.LatestTimestamp); return err }(),
			messages.ErrUnknownTopicOrPartition},
		{"invalid name", func() error { _, err := cl.CreateTopic(ctx, "no spaces", 1, 1, nil); return err }(),
			messages.ErrInvalidTopic},
		{"zero partitions", func() error { _, err := cl.CreateTopic(ctx, "zero", 0, 1, nil); return err }(),
			messages.ErrInvalidPartitions},
		{"existing topic", func() error { _, err := cl.CreateTopic(ctx, "typed", 1, 1, nil); return err }(),
			messages.ErrTopicAlreadyExists},
		{"delete a missing topic", cl.DeleteTopic(ctx, "missing"), messages.ErrUnknownTopicOrPartition},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	p := newProducer(t, cl, client.ProducerConfig{Acks: client.AcksLeader})
	if _, _, err := p.Produce(ctx, client.NewRecord("missing", nil, []byte("v"))); !errors.Is(err, messages.ErrUnknownTopicOrPartition) {
		t.Errorf("produce to a missing topic: %v", err)
	}
	if _, _, err := p.Produce(ctx, client.NewRecord("typed", nil, make([]byte, 3000))); !errors.Is(err, messages.ErrMessageTooLarge) {
		t.Errorf("produce above max.message.bytes: %v", err)
	}
}

func testOffsetOutOfRange(t *testing.T, cl *client.Client) {
	createTopic(t, cl, "range", 1, nil)
	p := newProducer(t, cl, client.ProducerConfig{Acks: client.AcksLeader})
	for i := 0; i < 5; i++ {
		if _, _, err := p.Produce(testCtx(t), client.NewRecord("range", nil, []byte(fmt.Sprint(i)))); err != nil {
			t.Fatal(err)
		}
	}
	tp := client.TopicPartition{Topic: "range", Partition: 0}
	cs := newConsumer(t, cl, client.ConsumerConfig{AutoOffsetReset: client.ResetNone})
	cs.Assign(tp)
	if err := cs.Seek(tp, 100); err != nil {
		t.Fatal(err)
	}
	_, err := cs.Poll(testCtx(t))
	var oor *client.OffsetOutOfRangeError
	if !errors.As(err, &oor) || !errors.Is(err, messages.ErrOffsetOutOfRange) {
		t.Fatalf("Poll at 100 of 5: %v", err)
	}
	if oor.Topic != "range" || oor.Partition != 0 || oor.Offset != 100 || oor.HighWatermark != 5 || oor.LogStartOffset != 0 {
		t.Fatalf("out of range error %+v", oor)
	}
	latest := newConsumer(t, cl, client.ConsumerConfig{AutoOffsetReset: client.ResetLatest})
	latest.Assign(tp)
	if err := latest.Seek(tp, 100); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if recs, err := latest.Poll(ctx); len(recs) != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("reset to latest: %d records, %v", len(recs), err)
	}
	if pos, err := latest.Position(testCtx(t), tp); err != nil || pos != 5 {
		t.Fatalf("position after reset to latest: %d, %v", pos, err)
	}
}

func testLongPoll(t *testing.T, c *clustertest.Cluster, cl *client.Client) {
	createTopic(t, cl, "long-poll", 1, nil)
	tp := client.TopicPartition{Topic: "long-poll", Partition: 0}
	cs := newConsumer(t, cl, client.ConsumerConfig{FetchMaxWait: time.Minute})
	cs.Assign(tp)
	if pos, err := cs.Position(testCtx(t), tp); err != nil || pos != 0 {
		t.Fatalf("Position = %d, %v", pos, err)
	}
	type result struct {
		recs []*client.Record
		err  error
	}
	// Fetches of earlier consumers wait out their time first, so that
	// the one parked next is this consumer's.
	awaitParkedFetches(t, c, 0)
	done := make(chan result, 1)
	go func() {
		// Well below the fetch's one-minute wait: only an early answer
		// makes it.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		recs, err := cs.Poll(ctx)
		done <- result{recs, err}
	}()
	awaitParkedFetches(t, c, 1)
	p := newProducer(t, cl, client.ProducerConfig{Acks: client.AcksLeader})
	if _, _, err := p.Produce(testCtx(t), client.NewRecord("long-poll", nil, []byte("wake up"))); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || len(r.recs) != 1 || string(r.recs[0].Value) != "wake up" {
		t.Fatalf("Poll = %v, %v", r.recs, r.err)
	}
}

// awaitParkedFetches waits until node 0 has n long-poll fetches parked
// (its sluice_parked_fetches gauge).
func awaitParkedFetches(t *testing.T, c *clustertest.Cluster, n int) {
	t.Helper()
	waitProgress(t, func() error {
		got, err := brokerMetric(c, 0, "sluice_parked_fetches")
		if err != nil {
			return err
		}
		if got != float64(n) {
			return fmt.Errorf("%v fetches parked at node %d, want %d", got, c.Node(0).ID, n)
		}
		return nil
	})
}

// brokerMetric reads an unlabelled metric from node i's /metrics.
func brokerMetric(c *clustertest.Cluster, i int, name string) (float64, error) {
	resp, err := http.Get("http://" + c.HTTP(i) + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("metric %s not found at node %d", name, c.Node(i).ID)
}

func testSeeks(t *testing.T, cl *client.Client) {
	createTopic(t, cl, "seeks", 1, nil)
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	p := newProducer(t, cl, client.ProducerConfig{Acks: client.AcksLeader, Linger: -1})
	for i := 0; i < 10; i++ {
		rec := &client.Record{Topic: "seeks", Value: []byte(fmt.Sprint(i)), Timestamp: base.Add(time.Duration(i) * time.Second)}
		if _, off, err := p.Produce(testCtx(t), rec); err != nil || off != int64(i) {
			t.Fatalf("produce %d: offset %d, %v", i, off, err)
		}
	}
	tp := client.TopicPartition{Topic: "seeks", Partition: 0}
	cs := newConsumer(t, cl, client.ConsumerConfig{FetchMaxWait: 100 * time.Millisecond})
	cs.Assign(tp)
	ctx := testCtx(t)
	if err := cs.SeekToTimestamp(tp, base.Add(4500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if recs := pollN(t, cs, 1); recs[0].Offset != 5 || !recs[0].Timestamp.Equal(base.Add(5*time.Second)) {
		t.Fatalf("seek to 4.5 s: first record %d at %v", recs[0].Offset, recs[0].Timestamp)
	}
	if err := cs.SeekToTimestamp(tp, base.Add(time.Hour*2)); err != nil {
		t.Fatal(err)
	}
	if pos, err := cs.Position(ctx, tp); err != nil || pos != 10 {
		t.Fatalf("seek past the last timestamp: %d, %v", pos, err)
	}
	if err := cs.SeekToBeginning(tp); err != nil {
		t.Fatal(err)
	}
	if recs := pollN(t, cs, 1); recs[0].Offset != 0 {
		t.Fatalf("seek to beginning: %d", recs[0].Offset)
	}
	if err := cs.SeekToEnd(tp); err != nil {
		t.Fatal(err)
	}
	if pos, err := cs.Position(ctx, tp); err != nil || pos != 10 {
		t.Fatalf("seek to end: %d, %v", pos, err)
	}
	off, ts, err := cl.ListOffsets(ctx, "seeks", 0, base.Add(2*time.Second).UnixMilli())
	if err != nil || off != 2 {
		t.Fatalf("ListOffsets by timestamp = %d (ts %d), %v", off, ts, err)
	}
}

func testAdmin(t *testing.T, cl *client.Client) {
	ctx := testCtx(t)
	createTopic(t, cl, "admin", 1, map[string]string{"retention.ms": "60000"})
	configs, err := cl.AlterConfigs(ctx, "admin", map[string]string{"retention.ms": "120000"}, nil)
	if err != nil || configs["retention.ms"] != "120000" {
		t.Fatalf("AlterConfigs = %v, %v", configs, err)
	}
	if err := cl.CreatePartitions(ctx, "admin", 3); err != nil {
		t.Fatal(err)
	}
	p := newProducer(t, cl, client.ProducerConfig{Acks: client.AcksLeader})
	if part, _, err := p.Produce(ctx, &client.Record{Topic: "admin", Partition: 2, Value: []byte("new partition")}); err != nil || part != 2 {
		t.Fatalf("produce to an added partition: %d, %v", part, err)
	}
	topics, err := cl.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ti := range topics {
		if ti.Name == "admin" {
			found = len(ti.Partitions) == 3
		}
	}
	if !found {
		t.Fatalf("ListTopics: %+v", topics)
	}
	if err := cl.DeleteTopic(ctx, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.DescribeTopic(ctx, "admin"); !errors.Is(err, messages.ErrUnknownTopicOrPartition) {
		t.Fatalf("describe a deleted topic: %v", err)
	}
}
