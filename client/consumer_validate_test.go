package client

import (
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// epochEnd answers an OffsetsForLeaderEpoch request as a leader does: the
// requested epoch ends where an unclean election cut it, or at the log
// end.
func (fb *fakeBroker) epochEnd(m *messages.OffsetsForLeaderEpochRequest) *messages.OffsetsForLeaderEpochResponse {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	l := fb.log(m.GetTopic(), m.GetPartition())
	l.queries = append(l.queries, m)
	if code := l.checkEpoch("epoch-query", m.GetLeaderEpoch()); code != messages.ErrorCode_NONE {
		return &messages.OffsetsForLeaderEpochResponse{ErrorCode: code, LeaderEpoch: -1, EndOffset: -1}
	}
	if end, ok := l.epochEnds[m.GetRequestedEpoch()]; ok {
		return &messages.OffsetsForLeaderEpochResponse{LeaderEpoch: m.GetRequestedEpoch(), EndOffset: end}
	}
	return &messages.OffsetsForLeaderEpochResponse{LeaderEpoch: min(m.GetRequestedEpoch(), l.epoch), EndOffset: l.next}
}

// uncleanElection simulates an out-of-sync replica becoming leader in
// epoch: the log keeps only the batches below keep (a batch boundary),
// the old epoch ends there, and fetches parked in the old epoch are
// fenced.
func (fb *fakeBroker) uncleanElection(topic string, partition int32, keep int64, epoch int32) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	l := fb.log(topic, partition)
	var kept [][]byte
	for _, b := range l.batches {
		h, _ := batch.ParseHeader(b)
		if h.LastOffset() < keep {
			kept = append(kept, b)
		}
	}
	if l.epochEnds == nil {
		l.epochEnds = map[int32]int64{}
	}
	l.batches, l.next, l.epochEnds[l.epoch] = kept, keep, keep
	fb.setEpochLocked(l, epoch)
}

func (fb *fakeBroker) epochQueries(topic string, partition int32) string {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	var out []string
	for _, q := range fb.log(topic, partition).queries {
		out = append(out, fmt.Sprintf("current %d requested %d", q.GetLeaderEpoch(), q.GetRequestedEpoch()))
	}
	return fmt.Sprint(out)
}

// produceOne writes each value as its own batch.
func produceOne(t *testing.T, c *Client, topic string, values ...string) {
	t.Helper()
	p := newTestProducer(t, c, ProducerConfig{Acks: AcksAll})
	for _, v := range values {
		if _, _, err := p.Produce(testCtx(t), &Record{Topic: topic, Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
}

func offsetValues(recs []*Record) string {
	var out []string
	for _, r := range recs {
		out = append(out, fmt.Sprintf("%d:%s", r.Offset, r.Value))
	}
	return fmt.Sprint(out)
}

// waitParked waits until the consumer's next fetch of topic/0 is parked.
func waitParked(t *testing.T, fb *fakeBroker, topic string) {
	t.Helper()
	waitUntil(t, func() error {
		fb.mu.Lock()
		defer fb.mu.Unlock()
		if n := len(fb.log(topic, 0).parked); n != 1 {
			return fmt.Errorf("%d fetches parked", n)
		}
		return nil
	})
}

// TestConsumerValidatesPositionAfterUncleanElection: records 0..4 were
// consumed in epoch 5; an unclean election makes a replica that has only
// 0..2 leader in epoch 6, and it takes new records at 3..5. The consumer
// asks the new leader where epoch 5 ends (3), moves back there and reads
// the new leader's records instead of skipping to offset 5.
func TestConsumerValidatesPositionAfterUncleanElection(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	fb.setEpoch("t", 0, 5)
	produceOne(t, c, "t", "a", "b", "c", "d", "e")
	cs := newTestConsumer(t, c, ConsumerConfig{AutoOffsetReset: ResetEarliest, FetchMaxWait: time.Minute})
	cs.Assign(TopicPartition{"t", 0})
	if got := offsetValues(pollN(t, cs, 5)); got != "[0:a 1:b 2:c 3:d 4:e]" {
		t.Fatalf("consumed %s", got)
	}
	waitParked(t, fb, "t")
	fb.uncleanElection("t", 0, 3, 6)
	fb.produce(&messages.ProduceRequest{Topic: "t", Records: encodeValues(t, "x", "y", "z"), LeaderEpoch: -1})
	if got := offsetValues(pollN(t, cs, 3)); got != "[3:x 4:y 5:z]" {
		t.Fatalf("after the unclean election consumed %s, want [3:x 4:y 5:z]", got)
	}
	if got := fb.epochQueries("t", 0); got != "[current 6 requested 5]" {
		t.Fatalf("OffsetsForLeaderEpoch requests %s", got)
	}
}

// TestConsumerLogTruncationErrorUnderResetNone: with ResetNone the same
// truncation is reported by Poll as a *LogTruncationError, again on every
// Poll, until the application seeks.
func TestConsumerLogTruncationErrorUnderResetNone(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	fb.setEpoch("t", 0, 5)
	produceOne(t, c, "t", "a", "b", "c", "d", "e")
	cs := newTestConsumer(t, c, ConsumerConfig{AutoOffsetReset: ResetNone, FetchMaxWait: time.Minute})
	tp := TopicPartition{"t", 0}
	cs.Assign(tp)
	if err := cs.Seek(tp, 0); err != nil {
		t.Fatal(err)
	}
	pollN(t, cs, 5)
	waitParked(t, fb, "t")
	fb.uncleanElection("t", 0, 3, 6)
	fb.produce(&messages.ProduceRequest{Topic: "t", Records: encodeValues(t, "x", "y", "z"), LeaderEpoch: -1})
	for range 2 {
		var trunc *LogTruncationError
		recs, err := cs.Poll(testCtx(t))
		for err == nil && len(recs) == 0 {
			recs, err = cs.Poll(testCtx(t))
		}
		if !errors.As(err, &trunc) || trunc.Position != 5 || trunc.Offset != 3 || len(recs) != 0 {
			t.Fatalf("Poll after truncation: %d records, %v; want a LogTruncationError at 3 below position 5", len(recs), err)
		}
	}
	if err := cs.Seek(tp, 3); err != nil {
		t.Fatal(err)
	}
	if got := offsetValues(pollN(t, cs, 3)); got != "[3:x 4:y 5:z]" {
		t.Fatalf("after seeking consumed %s", got)
	}
}

// TestConsumerSettleValidation covers each outcome of a position check:
// the new leader's end for the last fetched epoch against the position
// (records returned) and the fetch offset (records fetched).
func TestConsumerSettleValidation(t *testing.T) {
	tests := []struct {
		name  string
		reset OffsetReset
		end   int64
		// want: position, fetch offset, results kept, error kind
		position, fetchOffset int64
		kept                  int
		wantErr               string
	}{
		{"end past fetched", ResetEarliest, 12, 5, 10, 1, ""},
		{"end at fetch offset", ResetEarliest, 10, 5, 10, 1, ""},
		{"leader cannot tell", ResetEarliest, -1, 5, 10, 1, ""},
		{"unreturned records diverge", ResetEarliest, 7, 5, 5, 0, ""},
		{"returned records diverge", ResetLatest, 3, 3, 3, 0, ""},
		{"returned records diverge, no reset", ResetNone, 3, 5, 10, 2, "truncation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := &Consumer{cfg: ConsumerConfig{AutoOffsetReset: tt.reset}, c: &Client{log: slog.New(slog.DiscardHandler)}}
			cp := &consumerPartition{tp: TopicPartition{"t", 0}, position: 5, fetchOffset: 10,
				fetchEpoch: 5, lastEpoch: 5, results: []*fetchResult{{next: 10}}}
			cp.results[0].gen = cp.gen
			cs.settleValidation(cp, 6, &messages.OffsetsForLeaderEpochResponse{LeaderEpoch: 5, EndOffset: tt.end}, nil)
			if cp.position != tt.position || cp.fetchOffset != tt.fetchOffset || len(cp.results) != tt.kept {
				t.Fatalf("position %d fetch offset %d results %d; want %d %d %d",
					cp.position, cp.fetchOffset, len(cp.results), tt.position, tt.fetchOffset, tt.kept)
			}
			var trunc *LogTruncationError
			if got := tt.kept > 0 && errors.As(cp.results[len(cp.results)-1].err, &trunc); got != (tt.wantErr != "") {
				t.Fatalf("truncation error queued %v, want %v", got, tt.wantErr != "")
			}
			if wantEpoch := int32(6); tt.wantErr == "" && cp.fetchEpoch != wantEpoch {
				t.Fatalf("fetch epoch %d after validation, want %d", cp.fetchEpoch, wantEpoch)
			}
			if tt.wantErr != "" && cp.fetchEpoch != 5 {
				t.Fatalf("fetch epoch %d after a truncation error, want 5 (validate again)", cp.fetchEpoch)
			}
		})
	}
}

// TestConsumerSeekWithLeaderEpochValidates: a position known valid in
// epoch 5 (a committed offset with its epoch) is validated by the first
// fetch once the leader is in epoch 6: the log was cut at 3 by an unclean
// election, so the consumer starts there instead of at 5.
func TestConsumerSeekWithLeaderEpochValidates(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	fb.setEpoch("t", 0, 5)
	produceOne(t, c, "t", "a", "b", "c", "d", "e")
	fb.uncleanElection("t", 0, 3, 6)
	fb.produce(&messages.ProduceRequest{Topic: "t", Records: encodeValues(t, "x", "y", "z"), LeaderEpoch: -1})
	if _, err := c.Metadata(testCtx(t)); err != nil { // the client learns epoch 6
		t.Fatal(err)
	}
	cs := newTestConsumer(t, c, ConsumerConfig{AutoOffsetReset: ResetEarliest, FetchMaxWait: time.Minute})
	tp := TopicPartition{"t", 0}
	cs.Assign(tp)
	if err := cs.seekEpoch(tp, 5, 5); err != nil {
		t.Fatal(err)
	}
	if got := offsetValues(pollN(t, cs, 3)); got != "[3:x 4:y 5:z]" {
		t.Fatalf("from offset 5 of epoch 5 consumed %s, want [3:x 4:y 5:z]", got)
	}
	if got := fb.epochQueries("t", 0); got != "[current 6 requested 5]" {
		t.Fatalf("OffsetsForLeaderEpoch requests %s", got)
	}
}

// TestConsumerPositionEpochs: a position carries the leader epoch of the
// record before it; an offset that is not the position carries none.
func TestConsumerPositionEpochs(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	fb.setEpoch("t", 0, 5)
	produceOne(t, c, "t", "a", "b")
	fb.setEpoch("t", 0, 6)
	produceOne(t, c, "t", "c")
	cs := newTestConsumer(t, c, ConsumerConfig{AutoOffsetReset: ResetEarliest})
	tp := TopicPartition{"t", 0}
	cs.Assign(tp)
	pollN(t, cs, 3)
	got := cs.positionEpochs(map[TopicPartition]int64{tp: 3, {"t", 1}: 0})
	if fmt.Sprint(got) != fmt.Sprint(map[TopicPartition]int32{tp: 6}) {
		t.Fatalf("epochs of position 3: %v, want t/0 in epoch 6 only", got)
	}
	if got := cs.positionEpochs(map[TopicPartition]int64{tp: 2}); len(got) != 0 {
		t.Fatalf("epochs of an offset that is not the position: %v", got)
	}
}
