package e2e

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// metric reads an unlabelled metric from node i's /metrics.
func metric(t *testing.T, c *clustertest.Cluster, i int, name string) float64 {
	t.Helper()
	_, body, err := c.HTTPGet(i, "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// rawFetch fetches one partition from offset with a raw Fetch request at
// version v and returns the partition's answer.
func rawFetch(t *testing.T, cl *kgo.Client, topic string, offset int64, v int16, maxBytes int32) kmsg.FetchResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(v)
	req.ReplicaID, req.MaxBytes, req.MinBytes, req.MaxWaitMillis = -1, maxBytes, 1, 100
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.FetchOffset, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = offset, 1<<20, -1
	rt.Partitions = []kmsg.FetchRequestTopicPartition{rp}
	req.Topics = []kmsg.FetchRequestTopic{rt}
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("fetch answer: %+v", resp)
	}
	return resp.Topics[0].Partitions[0]
}

// TestKafkaZeroCopyFetch reads records produced with kgo back through the
// zero-copy path (sendfile from the segment files, several segments):
// exactly the records produced, in order. Restarted with
// --kafka-zero-copy=false, the node answers the same raw Fetch requests
// with the same bytes, and sends nothing zero-copy.
func TestKafkaZeroCopyFetch(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	admin := newClient(t, c)
	const topic = "zerocopy"
	createTopic(t, admin, topic, 1, map[string]string{"segment.bytes": "65536"})
	p := newClient(t, c, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0))
	const n = 3000
	var sent []*kgo.Record
	for i := range n {
		sent = append(sent, &kgo.Record{
			Key: []byte("k" + strconv.Itoa(i%13)), Value: bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%900),
			Headers: []kgo.RecordHeader{{Key: "i", Value: []byte(strconv.Itoa(i))}},
		})
	}
	for i := 0; i < n; i += 250 { // several produce requests: many batches
		if err := p.ProduceSync(testCtx(t), sent[i:i+250]...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	consumeAll := func() {
		t.Helper()
		cons := newClient(t, c, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchMaxBytes(100_000), kgo.FetchMaxPartitionBytes(50_000))
		got := 0
		for got < n {
			fs := cons.PollFetches(testCtx(t))
			if err := fs.Err0(); err != nil {
				t.Fatal(err)
			}
			fs.EachRecord(func(r *kgo.Record) {
				want := sent[got]
				if r.Offset != int64(got) || !bytes.Equal(r.Key, want.Key) || !bytes.Equal(r.Value, want.Value) ||
					len(r.Headers) != 1 || string(r.Headers[0].Value) != strconv.Itoa(got) {
					t.Fatalf("record %d: offset %d key %q value %d bytes headers %v", got, r.Offset, r.Key, len(r.Value), r.Headers)
				}
				got++
			})
		}
	}
	consumeAll()
	if sentFrames := metric(t, c, 0, "sluice_kafka_sendfile_responses_total"); sentFrames == 0 {
		t.Fatal("no fetch response went out zero-copy")
	}
	// Raw answers at served versions (4-12), flexible or not, from the
	// start, mid-segment and with a response limit smaller than a batch.
	type probe struct {
		offset   int64
		version  int16
		maxBytes int32
	}
	probes := []probe{{0, 4, 1 << 20}, {1234, 7, 1 << 20}, {2999, 11, 1 << 20}, {500, 12, 10}, {700, 12, 30_000}}
	answers := make([]kmsg.FetchResponseTopicPartition, len(probes))
	for i, pr := range probes {
		answers[i] = rawFetch(t, admin, topic, pr.offset, pr.version, pr.maxBytes)
		if len(answers[i].RecordBatches) == 0 || answers[i].ErrorCode != 0 {
			t.Fatalf("probe %+v: %d bytes, error %d", pr, len(answers[i].RecordBatches), answers[i].ErrorCode)
		}
	}

	c.SetFlags(func(int) []string { return []string{"--kafka-zero-copy=false"} })
	c.Restart(0)
	copying := newClient(t, c)
	for i, pr := range probes {
		got := rawFetch(t, copying, topic, pr.offset, pr.version, pr.maxBytes)
		if !bytes.Equal(got.RecordBatches, answers[i].RecordBatches) || got.HighWatermark != answers[i].HighWatermark ||
			got.LogStartOffset != answers[i].LogStartOffset || got.LastStableOffset != answers[i].LastStableOffset {
			t.Fatalf("probe %+v: copying path answered %d bytes (hw %d), zero-copy %d bytes (hw %d)",
				pr, len(got.RecordBatches), got.HighWatermark, len(answers[i].RecordBatches), answers[i].HighWatermark)
		}
	}
	consumeAll()
	if sentFrames := metric(t, c, 0, "sluice_kafka_sendfile_responses_total"); sentFrames != 0 {
		t.Fatalf("%v responses zero-copy with --kafka-zero-copy=false", sentFrames)
	}
}

// TestKafkaFetchWaitsForMinBytesAcrossPartitions: a Fetch of three empty
// partitions with min_bytes larger than one batch waits until the
// partitions together hold min_bytes, and answers with the data of every
// partition that got some (Kafka's delayed fetch), not only the first.
func TestKafkaFetchWaitsForMinBytesAcrossPartitions(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	admin := newClient(t, c)
	const topic = "minbytes"
	createTopic(t, admin, topic, 3, nil)
	p := newClient(t, c, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression()))

	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(11)
	req.ReplicaID, req.MaxBytes, req.MaxWaitMillis = -1, 1<<20, 20_000
	req.MinBytes = 1_500 // one 1 KiB record's batch is not enough, two are
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	for i := range int32(3) {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.PartitionMaxBytes, rp.CurrentLeaderEpoch = i, 1<<20, -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = []kmsg.FetchRequestTopic{rt}
	type result struct {
		resp *kmsg.FetchResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := req.RequestWith(testCtx(t), admin)
		done <- result{resp, err}
	}()
	awaitParked := func(n float64) {
		t.Helper()
		clustertest.Await(t, 10*time.Second, "parked fetches", func() error {
			if got := metric(t, c, 0, "sluice_parked_fetches"); got != n {
				return fmt.Errorf("%v fetches parked, want %v", got, n)
			}
			return nil
		})
	}
	awaitParked(3)
	produce := func(partition int32) {
		rec := &kgo.Record{Partition: partition, Value: bytes.Repeat([]byte("x"), 1024)}
		if err := p.ProduceSync(testCtx(t), rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(0)
	// Partition 0's answer is not enough: the fetch parks it again.
	awaitParked(3)
	select {
	case r := <-done:
		t.Fatalf("fetch answered with one batch below min_bytes: %+v, %v", r.resp, r.err)
	default:
	}
	produce(2)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	sizes := make([]int, 3)
	for _, rp := range r.resp.Topics[0].Partitions {
		if rp.ErrorCode != 0 {
			t.Fatalf("partition %d: error %d", rp.Partition, rp.ErrorCode)
		}
		sizes[rp.Partition] = len(rp.RecordBatches)
	}
	if sizes[0] == 0 || sizes[1] != 0 || sizes[2] == 0 {
		t.Fatalf("batch bytes per partition %v, want data from partitions 0 and 2", sizes)
	}
	// The partitions still parked when the fetch completed are
	// cancelled, not left to hold a parked slot for max_wait.
	awaitParked(0)
}
