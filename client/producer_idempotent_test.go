package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// headers returns the headers of a partition's stored batches.
func (fb *fakeBroker) headers(topic string, partition int32) []batch.Header {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	var out []batch.Header
	for _, b := range fb.log(topic, partition).batches {
		h, err := batch.ParseHeader(b)
		if err != nil {
			fb.t.Fatal(err)
		}
		out = append(out, h)
	}
	return out
}

func (fb *fakeBroker) inits() []*messages.InitProducerIdRequest {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	return append([]*messages.InitProducerIdRequest(nil), fb.idem.inits...)
}

// produceSeq sends values prefix-0..n-1 to topic/partition asynchronously,
// flushes and returns each record's outcome.
func produceSeq(t *testing.T, p *Producer, topic string, partition int32, prefix string, n int) ([]RecordMetadata, []error) {
	t.Helper()
	mds, errs := make([]RecordMetadata, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		rec := &Record{Topic: topic, Partition: partition, Value: fmt.Appendf(nil, "%s-%d", prefix, i)}
		p.ProduceAsync(context.Background(), rec, func(md RecordMetadata, err error) {
			mds[i], errs[i] = md, err
			wg.Done()
		})
	}
	if err := p.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	return mds, errs
}

// checkLog asserts that the partition holds want, in order, each once.
func checkLog(t *testing.T, fb *fakeBroker, topic string, partition int32, want []string) {
	t.Helper()
	recs := fb.records(topic, partition)
	got := make([]string, len(recs))
	for i, r := range recs {
		got[i] = string(r.Value)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("log of %s/%d holds %d records %v..., want %d in order, each once", topic, partition, len(got), got[:min(len(got), 8)], len(want))
	}
}

func values(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// smallBatches keeps an idempotent producer from merging queued batches
// beyond 1 KiB, so tests see many requests.
var smallBatches = map[string]string{"max.message.bytes": "1024"}

func TestIdempotentProducerNumbersBatchesPerPartition(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 2, smallBatches)
	p := newTestProducer(t, c, ProducerConfig{BatchBytes: 1 << 10})
	for part := range int32(2) {
		_, errs := produceSeq(t, p, "t", part, "v", 300)
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
	if inits := fb.inits(); len(inits) != 1 || inits[0].GetProducerId() != -1 || inits[0].GetProducerEpoch() != -1 || inits[0].GetTransactionalId() != "" {
		t.Fatalf("InitProducerId requests %v, want one for a new session", inits)
	}
	for part := range int32(2) {
		hs := fb.headers("t", part)
		if len(hs) < 3 {
			t.Fatalf("partition %d: %d batches, want several", part, len(hs))
		}
		seq := int32(0)
		for i, h := range hs {
			if h.ProducerID != 1000 || h.ProducerEpoch != 0 || h.BaseSequence != seq {
				t.Fatalf("partition %d batch %d: producer %d epoch %d sequence %d, want 1000/0/%d", part, i, h.ProducerID, h.ProducerEpoch, h.BaseSequence, seq)
			}
			seq += h.LastOffsetDelta + 1
		}
		checkLog(t, fb, "t", part, values("v", 300))
	}
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.produced != fb.producedBatches {
		t.Fatalf("%d requests carried %d batches, want one batch per request", fb.produced, fb.producedBatches)
	}
}

// TestIdempotentLostAnswersWriteOnce: answers lost after the append make
// the producer resend; the broker answers the duplicates with their
// original offsets, and the log holds every record once, in order.
func TestIdempotentLostAnswersWriteOnce(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, smallBatches)
	p := newTestProducer(t, c, ProducerConfig{BatchBytes: 1 << 10, RequestTimeout: 300 * time.Millisecond})
	fb.mu.Lock()
	fb.idem.dropAnswers = 3
	fb.idem.afterAppendErrs = []messages.ErrorCode{messages.ErrorCode_NOT_ENOUGH_REPLICAS_AFTER_APPEND}
	fb.mu.Unlock()
	mds, errs := produceSeq(t, p, "t", 0, "v", 300)
	for i := range mds {
		if errs[i] != nil || mds[i].Offset != int64(i) {
			t.Fatalf("record %d: offset %d, %v; want offset %d", i, mds[i].Offset, errs[i], i)
		}
	}
	checkLog(t, fb, "t", 0, values("v", 300))
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.idem.duplicates < 4 {
		t.Fatalf("%d duplicates answered, want at least 4 (one per lost answer)", fb.idem.duplicates)
	}
}

// TestIdempotentOrderedRetries: the first of several requests in flight is
// refused; the ones behind it meet a sequence gap (OUT_OF_ORDER_SEQUENCE
// _NUMBER) and are resent after it, in order, under the same epoch.
func TestIdempotentOrderedRetries(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, smallBatches)
	p := newTestProducer(t, c, ProducerConfig{BatchBytes: 1 << 10, Linger: -1})
	fb.mu.Lock()
	fb.holdProduce = 10 * time.Millisecond
	fb.produceErrs = []messages.ErrorCode{messages.ErrorCode_NOT_LEADER_OR_FOLLOWER}
	fb.mu.Unlock()
	mds, errs := produceSeq(t, p, "t", 0, "v", 100)
	for i := range mds {
		if errs[i] != nil || mds[i].Offset != int64(i) {
			t.Fatalf("record %d: offset %d, %v; want offset %d", i, mds[i].Offset, errs[i], i)
		}
	}
	checkLog(t, fb, "t", 0, values("v", 100))
	if len(fb.inits()) != 1 {
		t.Fatalf("InitProducerId requests %v, want no epoch bump", fb.inits())
	}
	fb.mu.Lock()
	defer fb.mu.Unlock()
	if fb.maxOutstanding < 2 {
		t.Fatalf("at most %d requests in flight, want several", fb.maxOutstanding)
	}
}

// TestIdempotentEpochBumpWhenStateLost: the broker forgets the producer
// (its state expired); the next batch meets a gap at the head, the
// producer bumps its epoch with its current id (KIP-360) and resends from
// sequence 0. Nothing is lost or doubled.
func TestIdempotentEpochBumpWhenStateLost(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	p := newTestProducer(t, c, ProducerConfig{BatchBytes: 1 << 10})
	if _, errs := produceSeq(t, p, "t", 0, "a", 100); errors.Join(errs...) != nil {
		t.Fatal(errors.Join(errs...))
	}
	fb.loseProducerState("t", 0)
	mds, errs := produceSeq(t, p, "t", 0, "b", 100)
	for i := range mds {
		if errs[i] != nil || mds[i].Offset != int64(100+i) {
			t.Fatalf("record b-%d: offset %d, %v; want %d", i, mds[i].Offset, errs[i], 100+i)
		}
	}
	checkLog(t, fb, "t", 0, append(values("a", 100), values("b", 100)...))
	inits := fb.inits()
	if len(inits) != 2 || inits[1].GetProducerId() != 1000 || inits[1].GetProducerEpoch() != 0 {
		t.Fatalf("InitProducerId requests %v, want a new session, then a bump of 1000/0", inits)
	}
	hs := fb.headers("t", 0)
	seq := int32(0)
	bumped := false
	for _, h := range hs {
		if h.ProducerEpoch == 1 && !bumped {
			bumped, seq = true, 0
		}
		if h.BaseSequence != seq {
			t.Fatalf("batch at %d: epoch %d sequence %d, want %d", h.BaseOffset, h.ProducerEpoch, h.BaseSequence, seq)
		}
		seq += h.LastOffsetDelta + 1
	}
	if !bumped || hs[len(hs)-1].ProducerEpoch != 1 {
		t.Fatal("no batch under the bumped epoch")
	}
}

// TestIdempotentFailsOnlyUnsafeBatches: a batch whose attempts all went
// unanswered fails with its timeout after the retries, and the producer
// moves to a new epoch for the batches after it; a batch that may have
// been written when a bump is needed fails with ErrUnknownOutcome rather
// than being written twice.
func TestIdempotentFailsOnlyUnsafeBatches(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	p := newTestProducer(t, c, ProducerConfig{Retries: 2, RequestTimeout: 200 * time.Millisecond})
	ctx := testCtx(t)
	fb.mu.Lock()
	fb.idem.blackhole = 3
	fb.mu.Unlock()
	if _, _, err := p.Produce(ctx, NewRecord("t", nil, []byte("lost"))); !errors.Is(err, messages.ErrRequestTimedOut) || !errors.Is(err, ErrUnknownOutcome) {
		t.Fatalf("record never answered: %v, want REQUEST_TIMED_OUT with ErrUnknownOutcome", err)
	}
	if _, off, err := p.Produce(ctx, NewRecord("t", nil, []byte("after"))); err != nil || off != 0 {
		t.Fatalf("record after the lost one: offset %d, %v", off, err)
	}
	if h := fb.headers("t", 0); len(h) != 1 || h[0].ProducerEpoch != 1 || h[0].BaseSequence != 0 {
		t.Fatalf("stored %+v, want one batch at epoch 1 sequence 0", h)
	}

	// The first attempt is lost, the resend meets a gap at the head: the
	// batch may be in the log, so it is not renumbered.
	fb.mu.Lock()
	fb.idem.blackhole = 1
	fb.mu.Unlock()
	done := make(chan error, 1)
	p.ProduceAsync(context.Background(), NewRecord("t", nil, []byte("unknown")), func(_ RecordMetadata, err error) { done <- err })
	waitUntil(t, func() error {
		fb.mu.Lock()
		defer fb.mu.Unlock()
		if fb.idem.blackhole > 0 {
			return errors.New("first attempt not sent")
		}
		fb.produceErrs = []messages.ErrorCode{messages.ErrorCode_OUT_OF_ORDER_SEQUENCE_NUMBER}
		return nil
	})
	if err := <-done; !errors.Is(err, ErrUnknownOutcome) || !errors.Is(err, messages.ErrRequestTimedOut) {
		t.Fatalf("batch with a lost attempt: %v, want ErrUnknownOutcome wrapping the timeout", err)
	}
	if _, off, err := p.Produce(ctx, NewRecord("t", nil, []byte("last"))); err != nil || off != 1 {
		t.Fatalf("record after the unknown one: offset %d, %v", off, err)
	}
	checkLog(t, fb, "t", 0, []string{"after", "last"})
	if h := fb.headers("t", 0); h[1].ProducerEpoch != 2 || h[1].BaseSequence != 0 {
		t.Fatalf("last batch %+v, want epoch 2 sequence 0", h[1])
	}
}

func TestIdempotentDuplicateSequenceIsSuccess(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	p := newTestProducer(t, c, ProducerConfig{})
	fb.mu.Lock()
	fb.produceErrs = []messages.ErrorCode{messages.ErrorCode_DUPLICATE_SEQUENCE_NUMBER}
	fb.mu.Unlock()
	if _, off, err := p.Produce(testCtx(t), NewRecord("t", nil, []byte("x"))); err != nil || off != -1 {
		t.Fatalf("duplicate answer: offset %d, %v; want success without an offset", off, err)
	}
}

func TestProducerConfigIdempotence(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	for _, tt := range []struct {
		cfg      ProducerConfig
		idem     bool
		errWords []string
	}{
		{cfg: ProducerConfig{}, idem: true},
		{cfg: ProducerConfig{Idempotence: IdempotenceOn, MaxInFlight: 5}, idem: true},
		{cfg: ProducerConfig{Acks: AcksLeader}, idem: false},
		{cfg: ProducerConfig{MaxInFlight: 6}, idem: false},
		{cfg: ProducerConfig{Retries: -1}, idem: false},
		{cfg: ProducerConfig{Idempotence: IdempotenceOff}, idem: false},
		{cfg: ProducerConfig{Idempotence: IdempotenceOn, Acks: AcksLeader}, errWords: []string{"Idempotence on", "Acks 1"}},
		{cfg: ProducerConfig{Idempotence: IdempotenceOn, Acks: AcksNone}, errWords: []string{"Idempotence on", "Acks 0"}},
		{cfg: ProducerConfig{Idempotence: IdempotenceOn, MaxInFlight: 6}, errWords: []string{"Idempotence on", "MaxInFlight 6"}},
		{cfg: ProducerConfig{Idempotence: IdempotenceOn, Retries: -1}, errWords: []string{"Idempotence on", "retries"}},
		{cfg: ProducerConfig{Idempotence: 9}, errWords: []string{"idempotence"}},
	} {
		p, err := NewProducer(c, tt.cfg)
		if tt.errWords != nil {
			for _, w := range tt.errWords {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("config %+v: error %v, want one naming %q", tt.cfg, err, w)
				}
			}
			continue
		}
		if err != nil {
			t.Fatalf("config %+v: %v", tt.cfg, err)
		}
		if _, _, err := p.Produce(testCtx(t), NewRecord("t", nil, []byte("x"))); err != nil {
			t.Fatal(err)
		}
		hs := fb.headers("t", 0)
		if got := hs[len(hs)-1].ProducerID >= 0; got != tt.idem || (p.session != nil) != tt.idem {
			t.Errorf("config %+v: idempotent %v (producer id %d), want %v", tt.cfg, got, hs[len(hs)-1].ProducerID, tt.idem)
		}
		if err := p.Close(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestIdempotentMergesQueuedBatches: batches sealed while the in-flight
// limit is used up travel as one batch (one batch per request), within
// the topic's max.message.bytes.
func TestIdempotentMergesQueuedBatches(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, map[string]string{"max.message.bytes": "16384"})
	p := newTestProducer(t, c, ProducerConfig{BatchBytes: 1 << 10, MaxInFlight: 1})
	fb.mu.Lock()
	fb.holdProduce = 20 * time.Millisecond
	fb.mu.Unlock()
	value := make([]byte, 100)
	var wg sync.WaitGroup
	for range 2000 {
		wg.Add(1)
		p.ProduceAsync(context.Background(), &Record{Topic: "t", Partition: 0, Value: value}, func(_ RecordMetadata, err error) {
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
	if n := len(fb.records("t", 0)); n != 2000 {
		t.Fatalf("stored %d records, want 2000", n)
	}
	fb.mu.Lock()
	defer fb.mu.Unlock()
	big := 0
	for _, b := range fb.log("t", 0).batches {
		if len(b) > 16384 {
			t.Fatalf("batch of %d bytes above max.message.bytes 16384", len(b))
		}
		if len(b) > 2<<10 {
			big++
		}
	}
	if big == 0 || fb.produced != fb.producedBatches {
		t.Fatalf("%d merged batches of %d, %d requests: want merged batches, one per request", big, fb.producedBatches, fb.produced)
	}
}

// TestIdempotentBatchGrowsWhileBacklogged: while the partition's in-flight
// limit is used up the open batch grows past BatchBytes, and it goes out
// as soon as the limit frees, without waiting for its linger.
func TestIdempotentBatchGrowsWhileBacklogged(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	p := newTestProducer(t, c, ProducerConfig{BatchBytes: 1 << 10, MaxInFlight: 1, Linger: time.Hour})
	fb.mu.Lock()
	fb.holdProduce = 100 * time.Millisecond
	fb.mu.Unlock()
	ctx := testCtx(t)
	value := make([]byte, 100)
	done := make(chan error, 100)
	cb := func(_ RecordMetadata, err error) { done <- err }
	for range 11 { // a full first batch: sealed and sent at once
		p.ProduceAsync(ctx, &Record{Topic: "t", Partition: 0, Value: value}, cb)
	}
	waitUntil(t, func() error {
		fb.mu.Lock()
		defer fb.mu.Unlock()
		if fb.produced == 0 {
			return errors.New("first batch not sent")
		}
		return nil
	})
	for range 40 { // about 4 KiB while the first is unanswered
		p.ProduceAsync(ctx, &Record{Topic: "t", Partition: 0, Value: value}, cb)
	}
	timeout := time.After(10 * time.Second)
	for i := range 51 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-timeout:
			t.Fatalf("%d of 51 records answered: the grown batch waits for its linger", i)
		}
	}
	hs := fb.headers("t", 0)
	// The first batch took about 9 records (1 KiB); the rest, some 4 KiB,
	// grew into the second.
	if len(hs) != 2 || hs[0].RecordCount+hs[1].RecordCount != 51 || hs[1].RecordCount < 40 {
		t.Fatalf("stored %d batches (the last with %d records), want two, the second grown past BatchBytes", len(hs), hs[len(hs)-1].RecordCount)
	}
}
