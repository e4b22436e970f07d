package client

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// fakeEpoch is the leader epoch of one fake partition, checked the way a
// real replica checks it (KIP-320). Guarded by the fake broker's mutex.
type fakeEpoch struct {
	// epoch is the replica's leader epoch, metaEpoch the one metadata
	// reports. They differ while the replica has not taken a new epoch up:
	// it answers lagAnswers more UNKNOWN_LEADER_EPOCHs, then takes it up.
	epoch, metaEpoch int32
	lagAnswers       int
	// seen holds the epochs requests carried, refused the refusals, by
	// request kind.
	seen    map[string][]int32
	refused map[string]int
	// epochEnds overrides where an epoch ends in the log (an unclean
	// election truncated it); queries are the OffsetsForLeaderEpoch
	// requests received.
	epochEnds map[int32]int64
	queries   []*messages.OffsetsForLeaderEpochRequest
}

// checkEpoch records a request's epoch and answers as a replica does.
func (e *fakeEpoch) checkEpoch(kind string, epoch int32) messages.ErrorCode {
	if e.seen == nil {
		e.seen, e.refused = map[string][]int32{}, map[string]int{}
	}
	e.seen[kind] = append(e.seen[kind], epoch)
	switch {
	case epoch < 0 || epoch == e.epoch:
		return messages.ErrorCode_NONE
	case epoch < e.epoch:
		e.refused[kind]++
		return messages.ErrorCode_FENCED_LEADER_EPOCH
	}
	e.refused[kind]++
	if e.lagAnswers > 0 {
		if e.lagAnswers--; e.lagAnswers == 0 {
			e.epoch = e.metaEpoch
		}
	}
	return messages.ErrorCode_UNKNOWN_LEADER_EPOCH
}

// setEpoch moves topic/partition to a new leader epoch, in the metadata
// and the replica at once; fetches parked in an older epoch are fenced,
// as the real replica fences them.
func (fb *fakeBroker) setEpoch(topic string, partition, epoch int32) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	fb.setEpochLocked(fb.log(topic, partition), epoch)
}

func (fb *fakeBroker) setEpochLocked(l *fakeLog, epoch int32) {
	l.epoch, l.metaEpoch = epoch, epoch
	kept := l.parked[:0]
	for _, p := range l.parked {
		if e := p.req.GetLeaderEpoch(); e >= 0 && e < epoch {
			l.refused["fetch"]++
			fb.c.system.Root.Send(p.to, &messages.FetchResponse{ErrorCode: messages.ErrorCode_FENCED_LEADER_EPOCH, HighWatermark: l.next})
			continue
		}
		kept = append(kept, p)
	}
	l.parked = kept
}

// lagEpoch makes the metadata report epoch for topic/partition while its
// replica answers answers UNKNOWN_LEADER_EPOCHs before taking it up.
func (fb *fakeBroker) lagEpoch(topic string, partition, epoch int32, answers int) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	l := fb.log(topic, partition)
	l.metaEpoch, l.lagAnswers = epoch, answers
}

// epochsSeen returns the epochs requests of kind carried and how many were
// refused.
func (fb *fakeBroker) epochsSeen(topic string, partition int32, kind string) ([]int32, int) {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	l := fb.log(topic, partition)
	return slices.Clone(l.seen[kind]), l.refused[kind]
}

func (fb *fakeBroker) metadataCount() int {
	fb.mu.Lock()
	defer fb.mu.Unlock()
	return fb.metadataRequests
}

func storedValues(fb *fakeBroker, topic string, partition int32) string {
	var out []string
	for _, r := range fb.records(topic, partition) {
		out = append(out, fmt.Sprintf("%d:%s", r.Offset, r.Value))
	}
	return fmt.Sprint(out)
}

// TestProducerFencedLeaderEpochRefreshesAndRetries: the producer sends the
// epoch its metadata names; after the leader moves to a new epoch its
// request is fenced, it refreshes the metadata and the record arrives
// once, in the new epoch.
func TestProducerFencedLeaderEpochRefreshesAndRetries(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	fb.setEpoch("t", 0, 5)
	p := newTestProducer(t, c, ProducerConfig{Acks: AcksAll})
	if _, off, err := p.Produce(testCtx(t), &Record{Topic: "t", Value: []byte("a")}); err != nil || off != 0 {
		t.Fatalf("first produce: offset %d, %v", off, err)
	}
	fb.setEpoch("t", 0, 6) // the client's metadata still says 5
	before := fb.metadataCount()
	if _, off, err := p.Produce(testCtx(t), &Record{Topic: "t", Value: []byte("b")}); err != nil || off != 1 {
		t.Fatalf("produce after the epoch change: offset %d, %v", off, err)
	}
	seen, refused := fb.epochsSeen("t", 0, "produce")
	if fmt.Sprint(seen) != "[5 5 6]" || refused != 1 {
		t.Fatalf("produce requests carried epochs %v (%d refused), want [5 5 6] with one fenced", seen, refused)
	}
	if fb.metadataCount() == before {
		t.Fatal("no metadata refresh after FENCED_LEADER_EPOCH")
	}
	if got := storedValues(fb, "t", 0); got != "[0:a 1:b]" {
		t.Fatalf("log holds %s, want [0:a 1:b]", got)
	}
}

// TestProducerUnknownLeaderEpochRetries: metadata already names a new
// epoch the leader has not taken up; the producer retries until it has,
// and the record arrives once.
func TestProducerUnknownLeaderEpochRetries(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	fb.setEpoch("t", 0, 5)
	p := newTestProducer(t, c, ProducerConfig{Acks: AcksAll})
	if _, _, err := p.Produce(testCtx(t), &Record{Topic: "t", Value: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	fb.lagEpoch("t", 0, 6, 2)
	if _, err := c.Metadata(testCtx(t)); err != nil { // the client learns epoch 6
		t.Fatal(err)
	}
	if _, off, err := p.Produce(testCtx(t), &Record{Topic: "t", Value: []byte("b")}); err != nil || off != 1 {
		t.Fatalf("produce in the new epoch: offset %d, %v", off, err)
	}
	seen, refused := fb.epochsSeen("t", 0, "produce")
	if fmt.Sprint(seen) != "[5 6 6 6]" || refused != 2 {
		t.Fatalf("produce requests carried epochs %v (%d refused), want [5 6 6 6] with two refused", seen, refused)
	}
	if got := storedValues(fb, "t", 0); got != "[0:a 1:b]" {
		t.Fatalf("log holds %s, want [0:a 1:b]", got)
	}
}

// TestConsumerFencedLeaderEpochRefreshesAndRetries: the consumer's
// fetches carry the metadata's epoch; a fetch parked when the leader moves
// to a new epoch is fenced, the consumer refreshes the metadata on its own
// and goes on in the new epoch without losing or repeating a record.
func TestConsumerFencedLeaderEpochRefreshesAndRetries(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	fb.setEpoch("t", 0, 5)
	produceN(t, c, "t", 0, 3, time.Now())
	cs := newTestConsumer(t, c, ConsumerConfig{AutoOffsetReset: ResetEarliest, FetchMaxWait: time.Minute})
	cs.Assign(TopicPartition{"t", 0})
	got := pollN(t, cs, 3)
	// The next fetch parks at offset 3 in epoch 5.
	waitUntil(t, func() error {
		fb.mu.Lock()
		defer fb.mu.Unlock()
		if n := len(fb.log("t", 0).parked); n != 1 {
			return fmt.Errorf("%d fetches parked", n)
		}
		return nil
	})
	fb.setEpoch("t", 0, 6)
	// Appended past the client (its metadata stays as it was until the
	// consumer refreshes it).
	fb.produce(&messages.ProduceRequest{Topic: "t", Records: encodeValues(t, "3", "4"), LeaderEpoch: -1})
	got = append(got, pollN(t, cs, 2)...)
	var values []string
	for _, r := range got {
		values = append(values, fmt.Sprintf("%d:%s", r.Offset, r.Value))
	}
	if fmt.Sprint(values) != "[0:0 1:1 2:2 3:3 4:4]" {
		t.Fatalf("consumed %v", values)
	}
	seen, refused := fb.epochsSeen("t", 0, "fetch")
	if len(seen) < 2 || seen[0] != 5 || seen[len(seen)-1] != 6 || refused == 0 {
		t.Fatalf("fetches carried epochs %v (%d refused), want 5 first, 6 last, one fenced", seen, refused)
	}
	if lo, _ := fb.epochsSeen("t", 0, "list-offsets"); fmt.Sprint(lo) != "[5]" {
		t.Fatalf("list-offsets carried epochs %v, want [5]", lo)
	}
}

// TestListOffsetsFencedLeaderEpochRefreshesAndRetries: ListOffsets sends
// the metadata's epoch and recovers from FENCED_LEADER_EPOCH by a refresh.
func TestListOffsetsFencedLeaderEpochRefreshesAndRetries(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	fb.setEpoch("t", 0, 5)
	produceN(t, c, "t", 0, 4, time.Now())
	fb.setEpoch("t", 0, 6)
	offset, _, err := c.ListOffsets(testCtx(t), "t", 0, LatestTimestamp)
	if err != nil || offset != 4 {
		t.Fatalf("ListOffsets: %d, %v; want 4", offset, err)
	}
	seen, refused := fb.epochsSeen("t", 0, "list-offsets")
	if fmt.Sprint(seen) != "[5 6]" || refused != 1 {
		t.Fatalf("list-offsets carried epochs %v (%d refused), want [5 6] with one fenced", seen, refused)
	}
}

// TestPartitionEpochWithoutLeader: with no leader known the client sends
// no epoch (-1) rather than one it cannot vouch for.
func TestPartitionEpochWithoutLeader(t *testing.T) {
	p := partitionState{info: PartitionInfo{Leader: -1, LeaderEpoch: 7}}
	if e := p.epoch(); e != -1 {
		t.Fatalf("epoch without leader %d, want -1", e)
	}
}

// encodeValues builds one batch of records with values.
func encodeValues(t *testing.T, values ...string) []byte {
	t.Helper()
	recs := make([]batch.Record, len(values))
	for i, v := range values {
		recs[i] = batch.Record{Timestamp: time.Now().UnixMilli(), Value: []byte(v)}
	}
	b, err := batch.Encode(recs, batch.DefaultEncodeOptions())
	if err != nil {
		t.Fatal(err)
	}
	return b
}
