package workload

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
)

// sendInterval paces the producer: steady load, not a flood, so that
// failovers happen while records are in flight rather than queued.
const sendInterval = 2 * time.Millisecond

// Ack is one acknowledged record.
type Ack struct {
	// Stream and Seq order the records one Producer sent; order is checked
	// within a stream only.
	Stream    string
	Seq       int
	Partition int32
	Offset    int64
	Value     string
}

// Producer produces numbered records round-robin over the partitions of a
// topic with acks=all until Finish, recording every acknowledgement.
type Producer struct {
	p       *client.Producer
	stop    chan struct{}
	done    chan struct{}
	pending sync.WaitGroup

	mu     sync.Mutex // guards the following
	acks   []Ack
	failed []error
}

// Start begins producing to topic's partitions [0, partitions); values are
// "<stream>-<seq>".
func Start(t testing.TB, cl *client.Client, topic string, partitions int32, stream string) *Producer {
	t.Helper()
	p, err := client.NewProducer(cl, client.ProducerConfig{
		Acks:        client.AcksAll,
		MaxInFlight: 1, // strict order within a partition across retries
		Linger:      time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	w := &Producer{p: p, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run(topic, partitions, stream)
	return w
}

func (w *Producer) run(topic string, partitions int32, stream string) {
	defer close(w.done)
	for seq := 0; ; seq++ {
		select {
		case <-w.stop:
			return
		case <-time.After(sendInterval):
		}
		value := stream + "-" + strconv.Itoa(seq)
		rec := &client.Record{Topic: topic, Partition: int32(seq) % partitions, Value: []byte(value)}
		w.pending.Add(1)
		w.p.ProduceAsync(context.Background(), rec, func(md client.RecordMetadata, err error) {
			defer w.pending.Done()
			w.mu.Lock()
			defer w.mu.Unlock()
			if err != nil {
				w.failed = append(w.failed, err)
				return
			}
			w.acks = append(w.acks, Ack{Stream: stream, Seq: seq, Partition: md.Partition, Offset: md.Offset, Value: value})
		})
	}
}

// Count is the number of records acknowledged so far.
func (w *Producer) Count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acks)
}

// WaitProgress waits until n more records are acknowledged, failing the test
// after timeout.
func (w *Producer) WaitProgress(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	start := w.Count()
	deadline := time.Now().Add(timeout)
	for w.Count()-start < n {
		if time.Now().After(deadline) {
			t.Fatalf("workload: %d of %d more records acknowledged after %s", w.Count()-start, n, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Finish stops producing, waits for every callback and closes the producer;
// it returns the acknowledged records and the failures.
func (w *Producer) Finish(t testing.TB) ([]Ack, []error) {
	t.Helper()
	close(w.stop)
	<-w.done
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.p.Close(ctx); err != nil {
		t.Errorf("workload: close producer: %v", err)
	}
	w.pending.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.acks), slices.Clone(w.failed)
}

// ReadPartition consumes topic/p from the log start up to its end offset at
// the time of the call and returns the values by offset. Offsets must
// increase; ctx bounds the whole read.
func ReadPartition(ctx context.Context, cl *client.Client, topic string, p int32) (map[int64]string, error) {
	var end int64
	for {
		var err error
		end, _, err = cl.ListOffsets(ctx, topic, p, client.LatestTimestamp)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("end offset of %s/%d: %w", topic, p, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	out := make(map[int64]string, end)
	if end == 0 {
		return out, nil
	}
	cs, err := client.NewConsumer(cl, client.ConsumerConfig{AutoOffsetReset: client.ResetEarliest})
	if err != nil {
		return nil, err
	}
	defer func() { _ = cs.Close(context.Background()) }()
	tp := client.TopicPartition{Topic: topic, Partition: p}
	cs.Assign(tp)
	if err := cs.SeekToBeginning(tp); err != nil {
		return nil, err
	}
	var next int64
	for next < end {
		records, err := cs.Poll(ctx)
		if err != nil {
			return nil, fmt.Errorf("consume %s/%d at %d (end %d): %w", topic, p, next, end, err)
		}
		for _, r := range records {
			if r.Offset < next {
				return nil, fmt.Errorf("consume %s/%d: offset %d after %d", topic, p, r.Offset, next)
			}
			out[r.Offset] = string(r.Value)
			next = r.Offset + 1
		}
	}
	return out, nil
}

// Verify checks that every acknowledged record is in the log of its
// partition at its offset, and that within a partition the records of one
// stream got increasing offsets in the order they were produced.
func Verify(t testing.TB, ctx context.Context, cl *client.Client, topic string, partitions int32, acks []Ack) {
	t.Helper()
	byPart := make(map[int32][]Ack)
	for _, a := range acks {
		byPart[a.Partition] = append(byPart[a.Partition], a)
	}
	for p := range partitions {
		log, err := ReadPartition(ctx, cl, topic, p)
		if err != nil {
			t.Fatal(err)
		}
		list := byPart[p]
		slices.SortFunc(list, func(a, b Ack) int {
			if c := strings.Compare(a.Stream, b.Stream); c != 0 {
				return c
			}
			return a.Seq - b.Seq
		})
		for i, a := range list {
			if got, ok := log[a.Offset]; !ok || got != a.Value {
				t.Errorf("%s/%d: acknowledged %q at offset %d, log has %q (present %v)", topic, p, a.Value, a.Offset, got, ok)
			}
			if i > 0 && list[i-1].Stream == a.Stream && a.Offset <= list[i-1].Offset {
				t.Errorf("%s/%d: %q (seq %d) at offset %d, not after %q at %d", topic, p, a.Value, a.Seq, a.Offset, list[i-1].Value, list[i-1].Offset)
			}
		}
	}
}
