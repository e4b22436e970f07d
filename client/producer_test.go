package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client/partitioner"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

func newTestProducer(t testing.TB, c *Client, cfg ProducerConfig) *Producer {
	t.Helper()
	p, err := NewProducer(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(testCtx(t)) })
	return p
}

func TestParseAcks(t *testing.T) {
	for in, want := range map[string]int32{"all": -1, "-1": -1, "1": 1, "0": 0} {
		a, err := ParseAcks(in)
		if err != nil || a.Wire() != want {
			t.Errorf("ParseAcks(%q) = %v (%d), %v", in, a, a.Wire(), err)
		}
	}
	if _, err := ParseAcks("2"); err == nil {
		t.Error("ParseAcks(2) succeeded")
	}
	var zero Acks
	if zero.Wire() != -1 {
		t.Errorf("zero Acks is %d on the wire, want -1 (all)", zero.Wire())
	}
}

func TestProducerConfigRejectsBatchAboveRequestLimit(t *testing.T) {
	c, _ := newFakeClient(t)
	if _, err := NewProducer(c, ProducerConfig{BatchBytes: 2 << 20}); err == nil {
		t.Fatal("BatchBytes above MaxRequestBytes accepted")
	}
}

func TestProducerKeysLandOnMurmur2Partitions(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("keys", 4, nil)
	p := newTestProducer(t, c, ProducerConfig{Acks: AcksLeader})
	ctx := testCtx(t)
	for i := 0; i < 50; i++ {
		key := []byte(fmt.Sprintf("key-%d", i))
		part, off, err := p.Produce(ctx, NewRecord("keys", key, []byte("v")))
		if err != nil {
			t.Fatal(err)
		}
		if want := int32(partitioner.KeyPartition(key, 4)); part != want || off < 0 {
			t.Fatalf("key %s went to %d@%d, want partition %d", key, part, off, want)
		}
	}
}

func TestProducerAsyncOffsetsAndStoredRecords(t *testing.T) {
	for _, codec := range []batch.Codec{batch.CodecNone, batch.CodecGzip, batch.CodecSnappy, batch.CodecLZ4, batch.CodecZstd} {
		t.Run(codec.String(), func(t *testing.T) {
			c, fb := newFakeClient(t)
			fb.addTopic("t", 1, nil)
			// Not idempotent: an idempotent producer merges the batches
			// queued behind its in-flight limit (TestIdempotentMerges...).
			p := newTestProducer(t, c, ProducerConfig{Acks: AcksAll, Idempotence: IdempotenceOff, Compression: codec, BatchBytes: 4 << 10})
			const n = 500
			var mu sync.Mutex
			var offsets []int64
			ts := time.UnixMilli(1_700_000_000_000)
			for i := 0; i < n; i++ {
				rec := &Record{Topic: "t", Partition: 0, Key: []byte(fmt.Sprint(i)), Value: bytes.Repeat([]byte{'x'}, i%50),
					Headers: []RecordHeader{{Key: "h", Value: []byte(fmt.Sprint(i))}}, Timestamp: ts.Add(time.Duration(i) * time.Millisecond)}
				p.ProduceAsync(context.Background(), rec, func(md RecordMetadata, err error) {
					if err != nil {
						t.Errorf("record %d: %v", i, err)
					}
					mu.Lock()
					offsets = append(offsets, md.Offset)
					mu.Unlock()
				})
			}
			if err := p.Flush(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			// Callbacks of one partition run in offset order.
			for i, off := range offsets {
				if off != int64(i) {
					t.Fatalf("callback %d got offset %d", i, off)
				}
			}
			recs := fb.records("t", 0)
			if len(recs) != n {
				t.Fatalf("stored %d records, want %d", len(recs), n)
			}
			for i, r := range recs {
				if string(r.Key) != fmt.Sprint(i) || len(r.Value) != i%50 || r.Offset != int64(i) ||
					r.Timestamp != ts.UnixMilli()+int64(i) || string(r.Headers[0].Value) != fmt.Sprint(i) {
					t.Fatalf("record %d stored as %+v", i, r)
				}
			}
			fb.mu.Lock()
			defer fb.mu.Unlock()
			if fb.producedBatches < 2 || fb.producedBatches >= n/2 {
				t.Fatalf("%d records took %d batches with 4 KiB batches", n, fb.producedBatches)
			}
		})
	}
}

func TestProducerLingerBatchesSmallRecords(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	p := newTestProducer(t, c, ProducerConfig{Acks: AcksLeader, Linger: time.Hour})
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		p.ProduceAsync(context.Background(), &Record{Topic: "t", Value: []byte("small")}, func(_ RecordMetadata, err error) {
			if err != nil {
				t.Error(err)
			}
			wg.Done()
		})
	}
	if err := p.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.produced != 1 || fb.producedBatches != 1 {
		t.Fatalf("100 records with a long linger took %d requests, %d batches; want 1", fb.produced, fb.producedBatches)
	}
}

func TestProducerRetriesKeepOrder(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	fb.produceErrs = []messages.ErrorCode{messages.ErrorCode_NOT_LEADER_OR_FOLLOWER,
		messages.ErrorCode_LEADER_NOT_AVAILABLE, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER}
	p := newTestProducer(t, c, ProducerConfig{Acks: AcksAll, BatchBytes: 1 << 10, Linger: -1, MaxInFlight: 1})
	const n = 300
	for i := 0; i < n; i++ {
		p.ProduceAsync(context.Background(), &Record{Topic: "t", Value: []byte(fmt.Sprintf("%04d", i))}, func(_ RecordMetadata, err error) {
			if err != nil {
				t.Errorf("record %d: %v", i, err)
			}
		})
	}
	if err := p.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	recs := fb.records("t", 0)
	if len(recs) != n {
		t.Fatalf("stored %d records, want %d", len(recs), n)
	}
	for i, r := range recs {
		if string(r.Value) != fmt.Sprintf("%04d", i) {
			t.Fatalf("offset %d holds %s", i, r.Value)
		}
	}
}

func TestProducerGivesUpOnNonRetriable(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	fb.produceErrs = []messages.ErrorCode{messages.ErrorCode_INVALID_RECORD}
	p := newTestProducer(t, c, ProducerConfig{Acks: AcksLeader})
	_, _, err := p.Produce(testCtx(t), &Record{Topic: "t", Value: []byte("v")})
	if !errors.Is(err, messages.ErrInvalidRecord) {
		t.Fatalf("Produce = %v, want INVALID_RECORD", err)
	}
}

func TestProducerRefusesTooLargeRecords(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	fb.addTopic("small", 1, map[string]string{"max.message.bytes": "1000"})
	p := newTestProducer(t, c, ProducerConfig{BatchBytes: 16 << 10})
	ctx := testCtx(t)
	// Above BatchBytes a record gets a batch of its own (Kafka's
	// batch.size); above the client's MaxRequestBytes it is refused.
	if _, _, err := p.Produce(ctx, &Record{Topic: "t", Value: make([]byte, 17<<10)}); err != nil {
		t.Fatalf("record above BatchBytes, within MaxRequestBytes: %v", err)
	}
	_, _, err := p.Produce(ctx, &Record{Topic: "t", Value: make([]byte, DefaultMaxRequestBytes)})
	if !errors.Is(err, messages.ErrMessageTooLarge) {
		t.Fatalf("record above MaxRequestBytes: %v", err)
	}
	_, _, err = p.Produce(ctx, &Record{Topic: "small", Value: make([]byte, 2000)})
	if !errors.Is(err, messages.ErrMessageTooLarge) {
		t.Fatalf("record above max.message.bytes: %v", err)
	}
	if _, _, err := p.Produce(ctx, &Record{Topic: "t", Value: make([]byte, 15<<10)}); err != nil {
		t.Fatalf("record within the limit: %v", err)
	}
}

func TestProducerUnknownTopicAndPartition(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 2, nil)
	p := newTestProducer(t, c, ProducerConfig{})
	ctx := testCtx(t)
	if _, _, err := p.Produce(ctx, NewRecord("nope", nil, []byte("v"))); !errors.Is(err, messages.ErrUnknownTopicOrPartition) {
		t.Fatalf("unknown topic: %v", err)
	}
	if _, _, err := p.Produce(ctx, &Record{Topic: "t", Partition: 5}); !errors.Is(err, messages.ErrUnknownTopicOrPartition) {
		t.Fatalf("unknown partition: %v", err)
	}
	if _, _, err := p.Produce(ctx, &Record{Partition: AnyPartition}); !errors.Is(err, ErrNoTopic) {
		t.Fatalf("no topic: %v", err)
	}
}

func TestProducerAcksNone(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	p := newTestProducer(t, c, ProducerConfig{Acks: AcksNone})
	_, off, err := p.Produce(testCtx(t), &Record{Topic: "t", Value: []byte("v")})
	if err != nil || off != -1 {
		t.Fatalf("Produce = %d, %v; want offset -1", off, err)
	}
	waitFor(t, 5*time.Second, func() error {
		if n := len(fb.records("t", 0)); n != 1 {
			return fmt.Errorf("%d records stored", n)
		}
		return nil
	})
}

func TestProducerCloseFailsLaterRecords(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	p, err := NewProducer(c, ProducerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Produce(testCtx(t), &Record{Topic: "t", Value: []byte("v")}); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Produce(testCtx(t), &Record{Topic: "t", Value: []byte("v")}); !errors.Is(err, ErrProducerClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestProducerBufferLimitBlocksUntilAcknowledged(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 3, nil)
	p := newTestProducer(t, c, ProducerConfig{Acks: AcksLeader, MaxBufferedBytes: 8 << 10, BatchBytes: 2 << 10})
	var wg sync.WaitGroup
	for i := 0; i < 2000; i++ {
		wg.Add(1)
		p.ProduceAsync(context.Background(), NewRecord("t", nil, make([]byte, 100)), func(_ RecordMetadata, err error) {
			if err != nil {
				t.Error(err)
			}
			wg.Done()
		})
	}
	wg.Wait()
	total := 0
	for part := int32(0); part < 3; part++ {
		total += len(fb.records("t", part))
	}
	if total != 2000 {
		t.Fatalf("stored %d records, want 2000", total)
	}
}

// waitFor polls fn until it returns nil or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestProducerCreditBoundsRequestsInFlight(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	fb.holdProduce = 20 * time.Millisecond
	p := newTestProducer(t, c, ProducerConfig{Acks: AcksLeader, MaxInFlight: 2, Linger: -1})
	const n = 200
	var mu sync.Mutex
	var offsets []int64
	for i := 0; i < n; i++ {
		p.ProduceAsync(context.Background(), &Record{Topic: "t", Value: []byte(fmt.Sprint(i))}, func(md RecordMetadata, err error) {
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			offsets = append(offsets, md.Offset)
			mu.Unlock()
		})
	}
	if err := p.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.maxOutstanding > 2 {
		t.Fatalf("%d requests in flight at once, MaxInFlight 2", fb.maxOutstanding)
	}
	// Without linger every record is its own batch; batches queued
	// behind the credit travel together.
	if fb.producedBatches != n || fb.produced >= n {
		t.Fatalf("%d batches in %d requests; want %d batches in fewer requests", fb.producedBatches, fb.produced, n)
	}
	for i, off := range offsets {
		if off != int64(i) {
			t.Fatalf("callback %d: offset %d", i, off)
		}
	}
}

func TestProducerCallbackMayProduceWithFullBuffer(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	// The buffer holds about one record: the callback's record only fits
	// once the acknowledged one's space is given back.
	p := newTestProducer(t, c, ProducerConfig{Acks: AcksLeader, MaxBufferedBytes: 200})
	done := make(chan error, 1)
	p.ProduceAsync(context.Background(), &Record{Topic: "t", Value: make([]byte, 100)}, func(_ RecordMetadata, err error) {
		if err != nil {
			done <- err
			return
		}
		p.ProduceAsync(context.Background(), &Record{Topic: "t", Value: make([]byte, 100)}, func(_ RecordMetadata, err error) { done <- err })
	})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(fb.records("t", 0)); n != 2 {
		t.Fatalf("%d records stored, want 2", n)
	}
}

func TestProducerRetriesDeadLetterUntilReplicaExists(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.mu.Lock()
	fb.noReplicas = true
	fb.addTopicLocked("late", 1, nil)
	fb.mu.Unlock()
	fb.spawnReplicaOnDeadLetter("late", 0)
	p := newTestProducer(t, c, ProducerConfig{Acks: AcksLeader})
	if _, off, err := p.Produce(testCtx(t), &Record{Topic: "late", Value: []byte("v")}); err != nil || off != 0 {
		t.Fatalf("Produce = %d, %v", off, err)
	}
}

func TestProducerTimeoutIsTyped(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	fb.holdProduce = time.Hour // never answers in time
	p := newTestProducer(t, c, ProducerConfig{Acks: AcksLeader, RequestTimeout: 100 * time.Millisecond, Retries: -1})
	_, _, err := p.Produce(testCtx(t), &Record{Topic: "t", Value: []byte("v")})
	if !errors.Is(err, messages.ErrRequestTimedOut) {
		t.Fatalf("Produce = %v, want REQUEST_TIMED_OUT", err)
	}
}

// KAFKA_STORAGE_ERROR means the leader's log dir failed and the
// controller moves the leadership: the client refreshes its metadata
// before retrying, as for NOT_LEADER_OR_FOLLOWER.
func TestStorageErrorRefreshesMetadata(t *testing.T) {
	err := messages.Wrap(messages.ErrorCode_KAFKA_STORAGE_ERROR, "log dir offline")
	if !staleMetadata(err) || !retriable(err) {
		t.Fatalf("KAFKA_STORAGE_ERROR: stale %v retriable %v; want both", staleMetadata(err), retriable(err))
	}
}
