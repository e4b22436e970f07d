package reassign

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
)

// acked is one acknowledged record.
type acked struct {
	seq       int
	partition int32
	offset    int64
	value     string
}

// load produces numbered records round-robin over partitions with
// acks=all until stopped, recording every acknowledgement.
type load struct {
	p       *client.Producer
	stop    chan struct{}
	done    chan struct{}
	mu      sync.Mutex // guards acks and failed
	acks    []acked
	failed  []error
	pending sync.WaitGroup
}

func startLoad(t *testing.T, cl *client.Client, topic string, parts int32) *load {
	t.Helper()
	p, err := client.NewProducer(cl, client.ProducerConfig{
		Acks:        client.AcksAll,
		MaxInFlight: 1, // strict order within a partition across retries
		Linger:      time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	l := &load{p: p, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for seq := 0; ; seq++ {
			select {
			case <-l.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			value := "r-" + strconv.Itoa(seq)
			l.pending.Add(1)
			rec := &client.Record{Topic: topic, Partition: int32(seq) % parts, Value: []byte(value)}
			p.ProduceAsync(rec, func(md client.RecordMetadata, err error) {
				defer l.pending.Done()
				l.mu.Lock()
				defer l.mu.Unlock()
				if err != nil {
					l.failed = append(l.failed, err)
					return
				}
				l.acks = append(l.acks, acked{seq: seq, partition: md.Partition, offset: md.Offset, value: value})
			})
		}
	}()
	return l
}

func (l *load) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acks)
}

// waitProgress waits until n more records are acknowledged.
func (l *load) waitProgress(e *env, n int) {
	e.t.Helper()
	start := l.count()
	e.waitFor(fmt.Sprintf("%d more acknowledged records", n), func() error {
		if got := l.count() - start; got < n {
			return fmt.Errorf("%d acknowledged since", got)
		}
		return nil
	})
}

// finish stops producing, waits for every callback and closes the
// producer; it returns the acknowledged records and the failures.
func (l *load) finish(t *testing.T) ([]acked, []error) {
	t.Helper()
	close(l.stop)
	<-l.done
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := l.p.Close(ctx); err != nil {
		t.Errorf("close producer: %v", err)
	}
	l.pending.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.acks), slices.Clone(l.failed)
}

// readAll consumes topic/p from the log start up to its current end and
// returns value by offset.
func (e *env) readAll(topic string, p int32) map[int64]string {
	e.t.Helper()
	ctx := e.ctx()
	var end int64
	e.waitFor(fmt.Sprintf("end offset of %s/%d", topic, p), func() error {
		var err error
		end, _, err = e.cl.ListOffsets(ctx, topic, p, client.LatestTimestamp)
		return err
	})
	out := make(map[int64]string, end)
	if end == 0 {
		return out
	}
	cs, err := client.NewConsumer(e.cl, client.ConsumerConfig{AutoOffsetReset: client.ResetEarliest})
	if err != nil {
		e.t.Fatal(err)
	}
	defer cs.Close()
	tp := client.TopicPartition{Topic: topic, Partition: p}
	cs.Assign(tp)
	if err := cs.SeekToBeginning(tp); err != nil {
		e.t.Fatal(err)
	}
	var next int64
	for next < end {
		records, err := cs.Poll(ctx)
		if err != nil {
			e.t.Fatalf("consume %s/%d at %d (end %d): %v", topic, p, next, end, err)
		}
		for _, r := range records {
			out[r.Offset] = string(r.Value)
			next = r.Offset + 1
		}
	}
	return out
}

// verify checks that every acknowledged record is in the log of its
// partition at its offset, and that records of a partition got increasing
// offsets in the order they were produced.
func (e *env) verify(topic string, parts int32, acks []acked) {
	e.t.Helper()
	if len(acks) == 0 {
		e.t.Fatal("no record was acknowledged")
	}
	byPart := make(map[int32][]acked)
	for _, a := range acks {
		byPart[a.partition] = append(byPart[a.partition], a)
	}
	for p := range parts {
		log := e.readAll(topic, p)
		list := byPart[p]
		slices.SortFunc(list, func(a, b acked) int { return a.seq - b.seq })
		for i, a := range list {
			if got, ok := log[a.offset]; !ok || got != a.value {
				e.t.Errorf("%s/%d: acknowledged %q at offset %d, log has %q (present %v)", topic, p, a.value, a.offset, got, ok)
			}
			if i > 0 && a.offset <= list[i-1].offset {
				e.t.Errorf("%s/%d: %q at offset %d, not after %q at %d", topic, p, a.value, a.offset, list[i-1].value, list[i-1].offset)
			}
		}
	}
}
