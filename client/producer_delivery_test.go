package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// timings collects what OnProduceTiming reports and checks, in each
// record's callback, that its request's timing came first.
type timings struct {
	t  *testing.T
	mu sync.Mutex // guards the following
	// got is every report; records the records reported per partition,
	// acked the callbacks run per partition.
	got     []ProduceTiming
	records map[int32]int
	acked   map[int32]int
}

func newTimings(t *testing.T) *timings {
	return &timings{t: t, records: map[int32]int{}, acked: map[int32]int{}}
}

func (ts *timings) report(pt ProduceTiming) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.got = append(ts.got, pt)
	ts.records[pt.Partition] += pt.Records
}

func (ts *timings) callback(md RecordMetadata, err error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if err != nil {
		return
	}
	ts.acked[md.Partition]++
	if ts.acked[md.Partition] > ts.records[md.Partition] {
		ts.t.Errorf("partition %d: callback %d ran before its request's timing (%d records reported)",
			md.Partition, ts.acked[md.Partition], ts.records[md.Partition])
	}
}

func (ts *timings) all() []ProduceTiming {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]ProduceTiming(nil), ts.got...)
}

// TestProducerReportsTimingPerRequest: every acknowledged request is
// reported once, before its callbacks, with the records it carried, a
// non-negative queue time, a round trip and the broker's stage times
// from the answer, the broker's total within the round trip.
func TestProducerReportsTimingPerRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  ProducerConfig
	}{
		{"plain", ProducerConfig{Acks: AcksLeader}},
		{"idempotent", ProducerConfig{Acks: AcksAll}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, fb := newFakeClient(t)
			fb.addTopic("t", 2, nil)
			fb.holdProduce = 2 * time.Millisecond // requests queue behind the in-flight limit too
			ts := newTimings(t)
			cfg := tc.cfg
			cfg.BatchBytes, cfg.Linger, cfg.OnProduceTiming = 1<<10, time.Millisecond, ts.report
			p := newTestProducer(t, c, cfg)
			const n = 400
			for i := range n {
				p.ProduceAsync(context.Background(), &Record{Topic: "t", Partition: int32(i % 2), Value: fmt.Appendf(nil, "%04d", i)}, ts.callback)
			}
			if err := p.Flush(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			got := ts.all()
			fb.mu.Lock()
			requests := fb.produced
			fb.mu.Unlock()
			if len(got) != requests {
				t.Fatalf("%d timings for %d requests", len(got), requests)
			}
			records := 0
			for _, pt := range got {
				records += pt.Records
				switch {
				case pt.Topic != "t" || pt.Partition < 0 || pt.Partition > 1 || pt.Batches < 1 || pt.Records < 1:
					t.Fatalf("timing %+v", pt)
				case pt.Queued < 0 || pt.RoundTrip <= 0:
					t.Fatalf("queued %v, round trip %v", pt.Queued, pt.RoundTrip)
				case pt.Broker.Append != time.Microsecond || pt.Broker.Flush != 0 || pt.Broker.Replicate != 0:
					t.Fatalf("broker stages %+v, want the answer's (append 1 µs, no flush, no replicate)", pt.Broker)
				case pt.Broker.Total <= 0 || pt.Broker.Total > pt.RoundTrip:
					t.Fatalf("broker total %v, round trip %v", pt.Broker.Total, pt.RoundTrip)
				}
			}
			if records != n {
				t.Fatalf("timings account for %d records, want %d", records, n)
			}
		})
	}
}

// TestProducerTimingOnlyForAcknowledged: a request retried after a
// retriable error is reported once, for the attempt answered; a failed
// request and AcksNone report nothing.
func TestProducerTimingOnlyForAcknowledged(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	ts := newTimings(t)
	p := newTestProducer(t, c, ProducerConfig{Acks: AcksLeader, OnProduceTiming: ts.report})
	ctx := testCtx(t)

	fb.produceErrs = []messages.ErrorCode{messages.ErrorCode_NOT_LEADER_OR_FOLLOWER}
	if _, _, err := p.Produce(ctx, &Record{Topic: "t", Value: []byte("retried")}); err != nil {
		t.Fatal(err)
	}
	if got := ts.all(); len(got) != 1 || got[0].Records != 1 || got[0].RoundTrip <= 0 || got[0].Broker.Total <= 0 {
		t.Fatalf("after a retried request: %+v", got)
	}

	fb.produceErrs = []messages.ErrorCode{messages.ErrorCode_INVALID_RECORD}
	if _, _, err := p.Produce(ctx, &Record{Topic: "t", Value: []byte("refused")}); !errors.Is(err, messages.ErrInvalidRecord) {
		t.Fatalf("Produce = %v, want INVALID_RECORD", err)
	}
	if got := ts.all(); len(got) != 1 {
		t.Fatalf("a failed request was reported: %+v", got)
	}

	none := newTestProducer(t, c, ProducerConfig{Acks: AcksNone, OnProduceTiming: ts.report})
	if _, _, err := none.Produce(ctx, &Record{Topic: "t", Value: []byte("unanswered")}); err != nil {
		t.Fatal(err)
	}
	if err := none.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ts.all(); len(got) != 1 {
		t.Fatalf("an acks=0 request was reported: %+v", got)
	}
}
