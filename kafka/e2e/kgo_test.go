package e2e

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// TestKgoProduceConsumeCodecs produces with kgo (idempotent, acks=all)
// in every codec and reads every record back, keys, values and headers
// intact, in order per partition.
func TestKgoProduceConsumeCodecs(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	admin := newClient(t, c)
	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	for name, codec := range codecs {
		t.Run(name, func(t *testing.T) {
			topic := "kgo-" + name
			createTopic(t, admin, topic, 3, nil)
			p := newClient(t, c, kgo.ProducerBatchCompression(codec), kgo.DefaultProduceTopic(topic))
			const n = 300
			var recs []*kgo.Record
			for i := range n {
				recs = append(recs, &kgo.Record{
					Key: []byte("k" + strconv.Itoa(i%7)), Value: []byte(fmt.Sprintf("value-%d", i)),
					Headers: []kgo.RecordHeader{{Key: "h", Value: []byte(strconv.Itoa(i))}},
				})
			}
			if err := p.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
				t.Fatal(err)
			}
			cons := newClient(t, c, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			got := map[string]int{}
			last := map[int32]int64{}
			for len(got) < n {
				fs := cons.PollFetches(testCtx(t))
				if err := fs.Err0(); err != nil {
					t.Fatal(err)
				}
				fs.EachRecord(func(r *kgo.Record) {
					if prev, ok := last[r.Partition]; ok && r.Offset != prev+1 {
						t.Errorf("partition %d: offset %d after %d", r.Partition, r.Offset, prev)
					}
					last[r.Partition] = r.Offset
					if len(r.Headers) != 1 || r.Headers[0].Key != "h" {
						t.Errorf("record %s: headers %v", r.Value, r.Headers)
					}
					got[string(r.Value)]++
				})
			}
			for i := range n {
				if v := fmt.Sprintf("value-%d", i); got[v] != 1 {
					t.Fatalf("%s read %d times", v, got[v])
				}
			}
		})
	}
}

// TestKgoConsumerGroup runs two kgo group members (cooperative-sticky)
// on one topic: together they read every record once, and a second group
// session resumes from the committed offsets.
func TestKgoConsumerGroup(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	admin := newClient(t, c)
	const topic, group, n = "grouped", "g1", 200
	createTopic(t, admin, topic, 4, nil)
	p := newClient(t, c, kgo.DefaultProduceTopic(topic))
	produce := func(from, to int) {
		var recs []*kgo.Record
		for i := from; i < to; i++ {
			recs = append(recs, &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))})
		}
		if err := p.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce(0, n)
	member := func() *kgo.Client {
		return newClient(t, c, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.Balancers(kgo.CooperativeStickyBalancer()),
			kgo.DisableAutoCommit())
	}
	a, b := member(), member()
	seen := map[string]int{}
	byMember := map[int]int{}
	deadline := time.Now().Add(30 * time.Second)
	for len(seen) < n && time.Now().Before(deadline) {
		for i, m := range []*kgo.Client{a, b} {
			// A member without partitions has nothing to return: poll
			// each briefly in turn.
			ctx, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
			fs := m.PollRecords(ctx, 50)
			cancel()
			if err := fs.Err0(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatal(err)
			}
			fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)]++; byMember[i]++ })
			if err := m.CommitUncommittedOffsets(testCtx(t)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(seen) < n {
		t.Fatalf("group read %d of %d records (per member %v)", len(seen), n, byMember)
	}
	for k, v := range seen {
		if v != 1 {
			t.Fatalf("record %s read %d times", k, v)
		}
	}
	a.Close()
	b.Close()

	// A new member of the same group reads only what was produced since.
	produce(n, n+10)
	again := member()
	var resumed []string
	for len(resumed) < 10 {
		fs := again.PollFetches(testCtx(t))
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) { resumed = append(resumed, string(r.Value)) })
	}
	for _, v := range resumed {
		if i, _ := strconv.Atoi(v); i < n {
			t.Fatalf("resumed member re-read %s (committed before)", v)
		}
	}
}

// TestKafkaMetadataAndErrors checks Metadata (brokers at their Kafka
// address, partitions, unknown topics) and per-partition errors.
func TestKafkaMetadataAndErrors(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	cl := newClient(t, c)
	createTopic(t, cl, "meta", 2, nil)
	req := kmsg.NewPtrMetadataRequest()
	for _, name := range []string{"meta", "missing"} {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Brokers) != 1 || fmt.Sprintf("%s:%d", resp.Brokers[0].Host, resp.Brokers[0].Port) != c.Kafka(0) {
		t.Fatalf("brokers %+v, want one at %s", resp.Brokers, c.Kafka(0))
	}
	if len(resp.Topics) != 2 || len(resp.Topics[0].Partitions) != 2 || resp.Topics[0].ErrorCode != 0 ||
		resp.Topics[1].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("topics %+v", resp.Topics)
	}
	// Topic ids (v10+): the topic's own, stable, and a new one for a
	// topic created again under the same name.
	id := resp.Topics[0].TopicID
	if id == ([16]byte{}) || resp.Topics[1].TopicID != ([16]byte{}) {
		t.Fatalf("topic ids %x (meta), %x (missing)", id, resp.Topics[1].TopicID)
	}
	if again, err := req.RequestWith(testCtx(t), cl); err != nil || again.Topics[0].TopicID != id {
		t.Fatalf("topic id %x, then %+v (%v)", id, again, err)
	}
	del := kmsg.NewPtrDeleteTopicsRequest()
	del.TopicNames, del.TimeoutMillis = []string{"meta"}, 10000 // v0-v5
	dt := kmsg.NewDeleteTopicsRequestTopic()
	dt.Topic = kmsg.StringPtr("meta") // v6+
	del.Topics = append(del.Topics, dt)
	if dr, err := del.RequestWith(testCtx(t), cl); err != nil || len(dr.Topics) != 1 || dr.Topics[0].ErrorCode != 0 {
		t.Fatalf("delete: %+v (%v)", dr, err)
	}
	createTopic(t, cl, "meta", 2, nil)
	if again, err := req.RequestWith(testCtx(t), cl); err != nil || again.Topics[0].TopicID == id || again.Topics[0].TopicID == ([16]byte{}) {
		t.Fatalf("recreated topic id %x, was %x (%v)", again.Topics[0].TopicID, id, err)
	}
	// A fetch of a partition that does not exist fails that partition only.
	f := kmsg.NewPtrFetchRequest()
	for _, p := range []int32{0, 9} {
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic = "meta"
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition, fp.PartitionMaxBytes = p, 1<<20
		ft.Partitions = append(ft.Partitions, fp)
		f.Topics = append(f.Topics, ft)
	}
	f.MaxBytes = 1 << 20
	fr, err := f.RequestWith(testCtx(t), cl.Broker(1))
	if err != nil {
		t.Fatal(err)
	}
	if fr.ErrorCode != 0 || fr.SessionID != 0 || len(fr.Topics) != 2 ||
		fr.Topics[0].Partitions[0].ErrorCode != 0 || fr.Topics[1].Partitions[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("fetch %+v", fr)
	}
}
