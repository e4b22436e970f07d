package client

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
)

func newTestConsumer(t *testing.T, c *Client, cfg ConsumerConfig) *Consumer {
	t.Helper()
	cs, err := NewConsumer(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close(context.Background()) })
	return cs
}

// assignFromStart assigns partitions 0..parts-1 of topic to cs, each read
// from offset 0, and returns them.
func assignFromStart(t *testing.T, cs *Consumer, topic string, parts int32) []TopicPartition {
	t.Helper()
	var tps []TopicPartition
	for p := range parts {
		tps = append(tps, TopicPartition{topic, p})
	}
	cs.Assign(tps...)
	for _, tp := range tps {
		if err := cs.Seek(tp, 0); err != nil {
			t.Fatal(err)
		}
	}
	return tps
}

// produceN writes n records "0".."n-1" to topic/partition with timestamps
// base+i ms.
func produceN(t *testing.T, c *Client, topic string, partition int32, n int, base time.Time) {
	t.Helper()
	p := newTestProducer(t, c, ProducerConfig{Acks: AcksLeader, BatchBytes: 1 << 10})
	for i := 0; i < n; i++ {
		p.ProduceAsync(context.Background(), &Record{Topic: topic, Partition: partition, Key: []byte("k"), Value: []byte(fmt.Sprint(i)),
			Headers: []RecordHeader{{Key: "i", Value: []byte(fmt.Sprint(i))}}, Timestamp: base.Add(time.Duration(i) * time.Millisecond)},
			func(_ RecordMetadata, err error) {
				if err != nil {
					t.Error(err)
				}
			})
	}
	if err := p.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

// pollN polls until n records arrived.
func pollN(t *testing.T, cs *Consumer, n int) []*Record {
	t.Helper()
	ctx := testCtx(t)
	var out []*Record
	for len(out) < n {
		recs, err := cs.Poll(ctx)
		if err != nil {
			t.Fatalf("Poll after %d records: %v", len(out), err)
		}
		out = append(out, recs...)
	}
	return out
}

func TestConsumerReadsFromBeginningInOrder(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 2, nil)
	base := time.UnixMilli(1_700_000_000_000)
	produceN(t, c, "t", 0, 300, base)
	produceN(t, c, "t", 1, 5, base)
	cs := newTestConsumer(t, c, ConsumerConfig{AutoOffsetReset: ResetEarliest, FetchMaxBytes: 2 << 10})
	cs.Assign(TopicPartition{"t", 0}, TopicPartition{"t", 1})
	recs := pollN(t, cs, 305)
	next := map[int32]int64{}
	for _, r := range recs {
		if r.Offset != next[r.Partition] {
			t.Fatalf("partition %d: offset %d, want %d", r.Partition, r.Offset, next[r.Partition])
		}
		next[r.Partition]++
		if string(r.Value) != fmt.Sprint(r.Offset) || string(r.Key) != "k" || string(r.Headers[0].Value) != fmt.Sprint(r.Offset) ||
			!r.Timestamp.Equal(base.Add(time.Duration(r.Offset)*time.Millisecond)) || r.Topic != "t" {
			t.Fatalf("record %+v", r)
		}
	}
	if next[0] != 300 || next[1] != 5 {
		t.Fatalf("read %v", next)
	}
	pos, err := cs.Position(testCtx(t), TopicPartition{"t", 0})
	if err != nil || pos != 300 {
		t.Fatalf("Position = %d, %v", pos, err)
	}
}

func TestConsumerLongPollReturnsWhenRecordArrives(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	cs := newTestConsumer(t, c, ConsumerConfig{FetchMaxWait: time.Minute})
	tp := TopicPartition{"t", 0}
	cs.Assign(tp)
	if pos, err := cs.Position(testCtx(t), tp); err != nil || pos != 0 {
		t.Fatalf("Position = %d, %v", pos, err)
	}
	got := make(chan []*Record, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		recs, err := cs.Poll(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- recs
	}()
	fb.awaitParked(t, "t", 0, 1)
	produceN(t, c, "t", 0, 1, time.Now())
	recs := <-got
	if len(recs) != 1 || string(recs[0].Value) != "0" {
		t.Fatalf("Poll returned %v", recs)
	}
}

func TestConsumerOffsetOutOfRange(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	produceN(t, c, "t", 0, 10, time.Now())
	tp := TopicPartition{"t", 0}

	cs := newTestConsumer(t, c, ConsumerConfig{AutoOffsetReset: ResetNone})
	cs.Assign(tp)
	if _, err := cs.Poll(testCtx(t)); !errors.Is(err, ErrNoOffset) {
		t.Fatalf("Poll without position under ResetNone: %v", err)
	}
	if err := cs.Seek(tp, 1000); err != nil {
		t.Fatal(err)
	}
	_, err := cs.Poll(testCtx(t))
	var oor *OffsetOutOfRangeError
	if !errors.As(err, &oor) || oor.Offset != 1000 || oor.HighWatermark != 10 || oor.Partition != 0 || oor.Topic != "t" {
		t.Fatalf("Poll past the end: %v", err)
	}

	early := newTestConsumer(t, c, ConsumerConfig{AutoOffsetReset: ResetEarliest})
	early.Assign(tp)
	if err := early.Seek(tp, 1000); err != nil {
		t.Fatal(err)
	}
	recs := pollN(t, early, 10)
	if recs[0].Offset != 0 {
		t.Fatalf("reset to earliest started at %d", recs[0].Offset)
	}
}

func TestConsumerSeeks(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	base := time.UnixMilli(1_700_000_000_000)
	produceN(t, c, "t", 0, 20, base)
	tp := TopicPartition{"t", 0}
	cs := newTestConsumer(t, c, ConsumerConfig{FetchMaxWait: 50 * time.Millisecond})
	cs.Assign(tp)
	ctx := testCtx(t)

	if err := cs.SeekToTimestamp(tp, base.Add(7*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if recs := pollN(t, cs, 1); recs[0].Offset != 7 {
		t.Fatalf("seek to timestamp: first offset %d, want 7", recs[0].Offset)
	}
	if err := cs.SeekToTimestamp(tp, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if pos, err := cs.Position(ctx, tp); err != nil || pos != 20 {
		t.Fatalf("seek past every timestamp: position %d, %v; want the end 20", pos, err)
	}
	if err := cs.SeekToBeginning(tp); err != nil {
		t.Fatal(err)
	}
	if recs := pollN(t, cs, 1); recs[0].Offset != 0 {
		t.Fatalf("seek to beginning: first offset %d", recs[0].Offset)
	}
	if err := cs.Seek(tp, 15); err != nil {
		t.Fatal(err)
	}
	if recs := pollN(t, cs, 5); recs[0].Offset != 15 || recs[len(recs)-1].Offset != 19 {
		t.Fatalf("seek to 15: got %d..%d", recs[0].Offset, recs[len(recs)-1].Offset)
	}
	if err := cs.SeekToEnd(tp); err != nil {
		t.Fatal(err)
	}
	if pos, err := cs.Position(ctx, tp); err != nil || pos != 20 {
		t.Fatalf("seek to end: %d, %v", pos, err)
	}
	if err := cs.Seek(TopicPartition{"other", 0}, 0); !errors.Is(err, ErrNotAssigned) {
		t.Fatalf("seek unassigned: %v", err)
	}
}

func TestConsumerPauseResume(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 2, nil)
	produceN(t, c, "t", 0, 3, time.Now())
	produceN(t, c, "t", 1, 3, time.Now())
	a, b := TopicPartition{"t", 0}, TopicPartition{"t", 1}
	cs := newTestConsumer(t, c, ConsumerConfig{AutoOffsetReset: ResetEarliest, FetchMaxWait: 20 * time.Millisecond})
	cs.Assign(a, b)
	if err := cs.Pause(b); err != nil {
		t.Fatal(err)
	}
	for _, r := range pollN(t, cs, 3) {
		if r.Partition != 0 {
			t.Fatalf("paused partition returned %+v", r)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if recs, err := cs.Poll(ctx); len(recs) != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Poll with only a paused partition left: %d records, %v", len(recs), err)
	}
	if err := cs.Resume(b); err != nil {
		t.Fatal(err)
	}
	for _, r := range pollN(t, cs, 3) {
		if r.Partition != 1 {
			t.Fatalf("after resume got %+v", r)
		}
	}
}

func TestConsumerDecodesCompressedBatches(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	p := newTestProducer(t, c, ProducerConfig{Acks: AcksLeader, Compression: batch.CodecZstd, BatchBytes: 2 << 10})
	const n = 400
	for i := 0; i < n; i++ {
		p.ProduceAsync(context.Background(), &Record{Topic: "t", Key: []byte(fmt.Sprint("k", i)), Value: []byte(fmt.Sprint("value ", i))}, nil)
	}
	if err := p.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	cs := newTestConsumer(t, c, ConsumerConfig{AutoOffsetReset: ResetEarliest, FetchMaxBytes: 4 << 10})
	cs.Assign(TopicPartition{"t", 0})
	recs := pollN(t, cs, n)
	for i, r := range recs {
		// Records must own their bytes: the decompression buffer is
		// reused by later batches.
		if string(r.Key) != fmt.Sprint("k", i) || string(r.Value) != fmt.Sprint("value ", i) {
			t.Fatalf("record %d: %q=%q", i, r.Key, r.Value)
		}
	}
}

func TestConsumerNextFetchOffset(t *testing.T) {
	b1, err := batch.Encode([]batch.Record{{Value: []byte("a")}, {Value: []byte("b")}}, batch.DefaultEncodeOptions())
	if err != nil {
		t.Fatal(err)
	}
	b2 := append([]byte(nil), b1...)
	batch.SetBaseOffset(b2, 2)
	both := append(append([]byte(nil), b1...), b2...)
	cases := []struct {
		name string
		buf  []byte
		from int64
		want int64
	}{
		{"empty", nil, 5, 5},
		{"one batch", b1, 0, 2},
		{"two batches", both, 0, 4},
		{"torn second batch", both[:len(both)-3], 0, 2},
		{"batch before the position", b1, 7, 7},
	}
	for _, c := range cases {
		if got := nextFetchOffset(c.buf, c.from); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	if anyCompressed(both) {
		t.Error("uncompressed batches reported compressed")
	}
}

// TestConsumerFetchBudget: with a buffer budget of two fetches, a
// consumer of eight idle partitions parks only two fetches at a time, and
// the partitions take turns, so records on every one of them arrive.
func TestConsumerFetchBudget(t *testing.T) {
	c, fb := newFakeClient(t)
	const parts = 8
	fb.addTopic("t", parts, nil)
	cs := newTestConsumer(t, c, ConsumerConfig{FetchMaxBytes: 1 << 20, FetchBufferBytes: 2 << 20, FetchMaxWait: 200 * time.Millisecond})
	assignFromStart(t, cs, "t", parts)
	parked := func() int {
		n := 0
		for p := range int32(parts) {
			n += fb.parkedFetches("t", p)
		}
		return n
	}
	// Idle partitions: polls return nothing; never more than two fetches
	// wait in the broker.
	for range 10 {
		ctx, cancel := context.WithTimeout(testCtx(t), 100*time.Millisecond)
		_, err := cs.Poll(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Poll of idle partitions: %v", err)
		}
		if n := parked(); n > 2 {
			t.Fatalf("%d fetches parked with a budget of 2", n)
		}
	}
	for p := range int32(parts) {
		produceN(t, c, "t", p, 1, time.Now())
	}
	seen := map[int32]bool{}
	for _, r := range pollN(t, cs, parts) {
		seen[r.Partition] = true
	}
	if len(seen) != parts {
		t.Fatalf("records of %d partitions arrived, want all %d", len(seen), parts)
	}
}

// TestConsumerPausedAnswersLeaveTheBudget: answers buffered for paused
// partitions do not count against FetchBufferBytes, so they cannot stop
// the other partitions from being fetched.
func TestConsumerPausedAnswersLeaveTheBudget(t *testing.T) {
	c, fb := newFakeClient(t)
	const parts = 3
	fb.addTopic("t", parts, nil)
	cs := newTestConsumer(t, c, ConsumerConfig{FetchMaxBytes: 1 << 20, FetchBufferBytes: 2 << 20, FetchMaxWait: 5 * time.Second})
	tps := assignFromStart(t, cs, "t", parts)
	// An idle poll parks the budget's two fetches.
	ctx, cancel := context.WithTimeout(testCtx(t), 100*time.Millisecond)
	_, _ = cs.Poll(ctx)
	cancel()
	var fetched, other []TopicPartition
	waitFor(t, 10*time.Second, func() error {
		fetched, other = nil, nil
		for _, tp := range tps {
			if fb.parkedFetches("t", tp.Partition) > 0 {
				fetched = append(fetched, tp)
			} else {
				other = append(other, tp)
			}
		}
		if len(fetched) != 2 {
			return fmt.Errorf("%d fetches parked, want the budget's 2", len(fetched))
		}
		return nil
	})
	// Paused, the two are answered and their answers wait for a resume.
	if err := cs.Pause(fetched...); err != nil {
		t.Fatal(err)
	}
	for _, tp := range fetched {
		produceN(t, c, "t", tp.Partition, 1, time.Now())
	}
	waitFor(t, 10*time.Second, func() error {
		cs.mu.Lock()
		defer cs.mu.Unlock()
		for _, tp := range fetched {
			if len(cs.parts[tp].results) == 0 {
				return fmt.Errorf("no answer buffered for paused %v", tp)
			}
		}
		return nil
	})
	produceN(t, c, "t", other[0].Partition, 1, time.Now())
	recs := pollN(t, cs, 1)
	if recs[0].Partition != other[0].Partition {
		t.Fatalf("record of partition %d, want the unpaused %d", recs[0].Partition, other[0].Partition)
	}
}
