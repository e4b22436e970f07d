package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/client/partitioner"
	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/messages"
)

// ack is where the broker acknowledged a record.
type ack struct {
	partition int32
	offset    int64
}

// seqValue is a record value of about 100 bytes carrying seq.
func seqValue(seq int) []byte {
	return fmt.Appendf(nil, "seq=%09d %s", seq, strings.Repeat("v", 86))
}

// parseSeq reads the sequence number back from a seqValue.
func parseSeq(t *testing.T, value []byte) int {
	t.Helper()
	s, _, _ := strings.Cut(string(value), " ")
	n, err := strconv.Atoi(strings.TrimPrefix(s, "seq="))
	if err != nil || !strings.HasPrefix(s, "seq=") {
		t.Fatalf("value %.40q carries no sequence number", value)
	}
	return n
}

// assignAll assigns every partition of topic to cs.
func assignAll(cs *client.Consumer, topic string, partitions int32) {
	tps := make([]client.TopicPartition, partitions)
	for i := range tps {
		tps[i] = client.TopicPartition{Topic: topic, Partition: int32(i)}
	}
	cs.Assign(tps...)
}

// pollNothing fails the test when records arrive within a short wait: the
// log holds no more than what was consumed.
func pollNothing(t *testing.T, cs *client.Consumer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	recs, err := cs.Poll(ctx)
	if len(recs) != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after the last record: %d more records, %v", len(recs), err)
	}
}

// TestAcceptanceKeyedRecordsOrderAndOffsets produces 100,000 keyed records
// to 8 partitions and consumes them all from the beginning: each record is
// on its key's murmur2 partition, at the offset its acknowledgement named,
// once, and in order per key.
func TestAcceptanceKeyedRecordsOrderAndOffsets(t *testing.T) {
	const topic, partitions, n, keys = "keyed", 8, 100_000, 5000
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	cl := newClient(t, c)
	createTopic(t, cl, topic, partitions, nil)
	key := func(seq int) []byte { return fmt.Appendf(nil, "k-%d", seq%keys) }

	p := newProducer(t, cl, client.ProducerConfig{Acks: client.AcksLeader})
	acks := make([]ack, n) // by sequence number; each callback writes its own
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	for seq := range n {
		wg.Add(1)
		p.ProduceAsync(context.Background(), &client.Record{Topic: topic, Partition: client.AnyPartition, Key: key(seq), Value: seqValue(seq)},
			func(md client.RecordMetadata, err error) {
				defer wg.Done()
				if err != nil {
					mu.Lock()
					failures = append(failures, fmt.Errorf("record %d: %w", seq, err))
					mu.Unlock()
					return
				}
				acks[seq] = ack{md.Partition, md.Offset}
			})
	}
	if err := p.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d records failed, first: %v", len(failures), failures[0])
	}

	cs := newConsumer(t, cl, client.ConsumerConfig{AutoOffsetReset: client.ResetEarliest, FetchMaxBytes: 1 << 20})
	assignAll(cs, topic, partitions)
	recs := pollN(t, cs, n)
	pollNothing(t, cs)

	seen := make([]bool, n)
	lastSeq := map[string]int{}
	nextOffset := map[int32]int64{}
	for _, r := range recs {
		seq := parseSeq(t, r.Value)
		if seq < 0 || seq >= n {
			t.Fatalf("record %d/%d: sequence number %d out of range", r.Partition, r.Offset, seq)
		}
		if seen[seq] {
			t.Fatalf("record %d consumed twice (again at %d/%d)", seq, r.Partition, r.Offset)
		}
		seen[seq] = true
		if string(r.Key) != string(key(seq)) {
			t.Fatalf("record %d: key %q, produced %q", seq, r.Key, key(seq))
		}
		if want := int32(partitioner.KeyPartition(r.Key, partitions)); r.Partition != want {
			t.Fatalf("record %d key %s on partition %d, murmur2 over %d says %d", seq, r.Key, r.Partition, partitions, want)
		}
		if a := acks[seq]; r.Partition != a.partition || r.Offset != a.offset {
			t.Fatalf("record %d consumed at %d/%d, acknowledged at %d/%d", seq, r.Partition, r.Offset, a.partition, a.offset)
		}
		if r.Offset != nextOffset[r.Partition] {
			t.Fatalf("partition %d: offset %d after %d", r.Partition, r.Offset, nextOffset[r.Partition]-1)
		}
		nextOffset[r.Partition]++
		if prev, ok := lastSeq[string(r.Key)]; ok && seq <= prev {
			t.Fatalf("key %s: record %d after %d (order per key lost)", r.Key, seq, prev)
		}
		lastSeq[string(r.Key)] = seq
	}
	for seq, ok := range seen {
		if !ok {
			t.Fatalf("record %d lost", seq)
		}
	}
	if len(lastSeq) != keys || len(nextOffset) != partitions {
		t.Fatalf("%d keys over %d partitions, want %d over %d", len(lastSeq), len(nextOffset), keys, partitions)
	}
}

// TestAcceptanceKillMidStream SIGKILLs the broker while a producer with
// acks=1 writes to a flush.policy=always topic: after the restart every
// acknowledged record is at its acknowledged offset with its value.
func TestAcceptanceKillMidStream(t *testing.T) {
	const topic, partitions = "durable", 3
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	cl := newClient(t, c)
	createTopic(t, cl, topic, partitions, map[string]string{"flush.policy": "always"})

	p := newProducer(t, cl, client.ProducerConfig{Acks: client.AcksLeader, MaxBufferedBytes: 1 << 20})
	var mu sync.Mutex
	acked := map[ack]int{} // acknowledged position -> sequence number
	failed := 0
	var conflicts []string
	stop := make(chan struct{})
	producing := make(chan struct{})
	go func() {
		defer close(producing)
		for seq := 0; ; seq++ {
			select {
			case <-stop:
				return
			default:
			}
			rec := &client.Record{Topic: topic, Partition: client.AnyPartition, Key: fmt.Appendf(nil, "k-%d", seq%100), Value: seqValue(seq)}
			p.ProduceAsync(context.Background(), rec, func(md client.RecordMetadata, err error) {
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed++
					return
				}
				a := ack{md.Partition, md.Offset}
				if prev, dup := acked[a]; dup {
					conflicts = append(conflicts, fmt.Sprintf("records %d and %d both acknowledged at %d/%d", prev, seq, a.partition, a.offset))
				}
				acked[a] = seq
			})
		}
	}()
	countAcked := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	deadline := time.Now().Add(time.Minute)
	for countAcked() < 3000 {
		if time.Now().After(deadline) {
			close(stop)
			t.Fatalf("only %d records acknowledged", countAcked())
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.Kill(0) // the producer is still writing
	close(stop)
	c.StartNode(0)
	<-producing
	// Records sent while the broker was down are retried or fail; either
	// way every callback has run once Flush returns.
	if err := p.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	want := make(map[ack]int, len(acked))
	for a, seq := range acked {
		want[a] = seq
	}
	conflicting := slices.Clone(conflicts)
	t.Logf("%d records acknowledged, %d failed", len(want), failed)
	mu.Unlock()
	if len(conflicting) > 0 {
		t.Fatalf("%d offsets acknowledged twice, first: %s", len(conflicting), conflicting[0])
	}

	last := map[int32]int64{}
	for a := range want {
		last[a.partition] = max(last[a.partition], a.offset+1)
	}
	cs := newConsumer(t, cl, client.ConsumerConfig{AutoOffsetReset: client.ResetEarliest, FetchMaxBytes: 1 << 20})
	assignAll(cs, topic, partitions)
	got := map[ack][]byte{}
	ctx := testCtx(t)
	for done := false; !done; {
		recs, err := cs.Poll(ctx)
		if err != nil {
			t.Fatalf("Poll after %d records: %v", len(got), err)
		}
		for _, r := range recs {
			got[ack{r.Partition, r.Offset}] = r.Value
		}
		done = true
		for part, end := range last {
			if pos, err := cs.Position(ctx, client.TopicPartition{Topic: topic, Partition: part}); err != nil || pos < end {
				done = false
			}
		}
	}
	for a, seq := range want {
		v, ok := got[a]
		if !ok {
			t.Fatalf("record %d acknowledged at %d/%d is gone after SIGKILL", seq, a.partition, a.offset)
		}
		if string(v) != string(seqValue(seq)) {
			t.Fatalf("record %d acknowledged at %d/%d: found %.20q", seq, a.partition, a.offset, v)
		}
	}
	// The restarted broker appends after what it recovered.
	part, off, err := p.Produce(ctx, &client.Record{Topic: topic, Partition: 0, Value: []byte("after restart")})
	if err != nil || part != 0 || off < last[0] {
		t.Fatalf("produce after restart: %d/%d, %v (acknowledged up to %d)", part, off, err, last[0])
	}
}

// TestAcceptanceAddPartitionsAndDeleteTopic grows a topic from 2 to 5
// partitions: new keyed records hash over 5 and are read back from the
// new partitions. Deleting it removes its directories and makes produces
// fail with UNKNOWN_TOPIC_OR_PARTITION while other topics are served.
func TestAcceptanceAddPartitionsAndDeleteTopic(t *testing.T) {
	const topic, keys = "growing", 200
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	cl := newClient(t, c)
	ctx := testCtx(t)
	createTopic(t, cl, topic, 2, nil)
	createTopic(t, cl, "bystander", 1, nil)
	p := newProducer(t, cl, client.ProducerConfig{Acks: client.AcksLeader})
	produceKeys := func(round string, partitions int) map[string]bool {
		want := map[string]bool{}
		for i := range keys {
			k := fmt.Appendf(nil, "key-%d", i)
			part, _, err := p.Produce(ctx, &client.Record{Topic: topic, Partition: client.AnyPartition, Key: k, Value: []byte(round)})
			if err != nil {
				t.Fatalf("%s: produce %s: %v", round, k, err)
			}
			if wantPart := int32(partitioner.KeyPartition(k, partitions)); part != wantPart {
				t.Fatalf("%s: key %s went to partition %d, murmur2 over %d says %d", round, k, part, partitions, wantPart)
			}
			want[fmt.Sprintf("%s/%d/%s", round, part, k)] = true
		}
		return want
	}
	before := produceKeys("before", 2)
	if err := cl.CreatePartitions(ctx, topic, 5); err != nil {
		t.Fatal(err)
	}
	after := produceKeys("after", 5)

	cs := newConsumer(t, cl, client.ConsumerConfig{AutoOffsetReset: client.ResetEarliest})
	assignAll(cs, topic, 5)
	onNew := 0
	for _, r := range pollN(t, cs, 2*keys) {
		id := fmt.Sprintf("%s/%d/%s", r.Value, r.Partition, r.Key)
		if !before[id] && !after[id] {
			t.Fatalf("unexpected record %s at offset %d", id, r.Offset)
		}
		delete(before, id)
		delete(after, id)
		if r.Partition >= 2 {
			onNew++
		}
	}
	if len(before)+len(after) != 0 || onNew == 0 {
		t.Fatalf("missing %d records; %d read from the added partitions", len(before)+len(after), onNew)
	}
	pollNothing(t, cs)

	var dirs []string
	for i := range 5 {
		dir := filepath.Join(c.DataDir(0), fmt.Sprintf("%s-%d", topic, i))
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("partition directory before delete: %v", err)
		}
		dirs = append(dirs, dir)
	}
	if err := cl.DeleteTopic(ctx, topic); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		var left []string
		for _, dir := range dirs {
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				left = append(left, dir)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("directories still there after delete: %v", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, err := p.Produce(ctx, client.NewRecord(topic, []byte("key-1"), []byte("late"))); !errors.Is(err, messages.ErrUnknownTopicOrPartition) {
		t.Fatalf("produce to the deleted topic: %v, want UNKNOWN_TOPIC_OR_PARTITION", err)
	}
	checkServing(t, cl, "bystander")
}

// checkServing produces a record to partition 0 of topic and fetches it
// back: the broker still serves.
func checkServing(t *testing.T, cl *client.Client, topic string) {
	t.Helper()
	ctx := testCtx(t)
	p, err := client.NewProducer(cl, client.ProducerConfig{Acks: client.AcksLeader})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Close(ctx) }()
	value := fmt.Appendf(nil, "still serving %d", time.Now().UnixNano())
	_, off, err := p.Produce(ctx, &client.Record{Topic: topic, Partition: 0, Value: value})
	if err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
	cs, err := client.NewConsumer(cl, client.ConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cs.Close(context.Background()) }()
	tp := client.TopicPartition{Topic: topic, Partition: 0}
	cs.Assign(tp)
	if err := cs.Seek(tp, off); err != nil {
		t.Fatal(err)
	}
	recs := pollN(t, cs, 1)
	if recs[0].Offset != off || string(recs[0].Value) != string(value) {
		t.Fatalf("fetched %d:%q, produced %d:%q", recs[0].Offset, recs[0].Value, off, value)
	}
}
