package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ackLog records what an idempotent kgo producer had acknowledged, per
// partition in acknowledgement order. Written from kgo's promise
// callbacks, read by the test.
type ackLog struct {
	mu     sync.Mutex
	acked  map[int32][]ackedRecord
	errs   []error
	copies int
}

type ackedRecord struct {
	seq    int
	offset int64
}

func (l *ackLog) promise(r *kgo.Record, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.errs = append(l.errs, fmt.Errorf("record %s: %w", r.Value, err))
		return
	}
	seq, _ := strconv.Atoi(strings.TrimPrefix(string(r.Value), "seq-"))
	l.acked[r.Partition] = append(l.acked[r.Partition], ackedRecord{seq: seq, offset: r.Offset})
	l.copies++
}

func (l *ackLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.copies
}

// failover produces a numbered sequence with a kgo idempotent producer
// (acks=all) to an RF 3 topic while the leader of partition 0 is
// SIGKILLed and restarted twice. Afterwards every acknowledged record is
// at its acknowledged offset, each record is in the log once, and each
// partition holds its records in the order they were produced.
func failover(t *testing.T, e *kenv) {
	const topic, partitions = "failover", 3
	createTopicRF(t, e.admin, topic, partitions, 3, map[string]string{"min.insync.replicas": "2"})
	e.waitInSync(topic)
	p := newClient(t, e.c, kgo.DefaultProduceTopic(topic), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.MaxBufferedRecords(300),
		kgo.ProducerLinger(5*time.Millisecond), kgo.RetryBackoffFn(func(int) time.Duration { return 100 * time.Millisecond }))
	log := &ackLog{acked: map[int32][]ackedRecord{}}

	// The producer goroutine stops when stop is closed; done says it has
	// flushed every record it produced.
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
				defer cancel()
				done <- p.Flush(ctx)
				return
			default:
			}
			r := &kgo.Record{Partition: int32(i % partitions), Value: fmt.Appendf(nil, "seq-%d", i)}
			p.Produce(context.Background(), r, log.promise)
		}
	}()
	stopped := false
	stopProducer := func() error {
		if stopped {
			return nil
		}
		stopped = true
		close(stop)
		return <-done
	}
	defer func() { _ = stopProducer() }()
	progress := func(n int) {
		t.Helper()
		from := log.count()
		e.waitFor(fmt.Sprintf("%d more acknowledgements", n), func() error {
			if got := log.count() - from; got < n {
				return fmt.Errorf("%d acknowledged", got)
			}
			return nil
		})
	}

	progress(200)
	for round := range 2 {
		before := e.leaderOf(topic, 0)
		i := e.index(before.Leader)
		t.Logf("round %d: killing node %d, leader of %s/0 in epoch %d", round, before.Leader, topic, before.LeaderEpoch)
		e.c.Kill(i)
		e.waitFor("a new leader of "+topic+"/0", func() error {
			now, err := e.partition(topic, 0)
			if err == nil && (now.Leader < 0 || now.Leader == before.Leader || now.LeaderEpoch <= before.LeaderEpoch) {
				err = fmt.Errorf("leader %d in epoch %d", now.Leader, now.LeaderEpoch)
			}
			return err
		})
		progress(200) // acks=all keeps working with two of three
		e.c.StartNode(i)
		e.waitInSync(topic)
		progress(100)
	}
	if err := stopProducer(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if len(log.errs) > 0 {
		t.Fatalf("%d records failed, first: %v", len(log.errs), log.errs[0])
	}
	t.Logf("%d records acknowledged", log.count())

	ends := endOffsets(t, e.admin, topic, partitions)
	byOffset := consumeAll(t, e, topic, ends)
	for part := range int32(partitions) {
		// Exactly once, in production order: the sequence numbers rise
		// along the log.
		got := byOffset[part]
		for off := int64(1); off < ends[part]; off++ {
			if got[off] <= got[off-1] {
				t.Fatalf("partition %d: seq %d at offset %d after seq %d", part, got[off], off, got[off-1])
			}
		}
		for _, a := range log.acked[part] {
			if s, ok := got[a.offset]; !ok || s != a.seq {
				t.Fatalf("partition %d: seq %d acknowledged at offset %d, log has %d there (present %v)", part, a.seq, a.offset, s, ok)
			}
		}
		if n := len(log.acked[part]); int64(n) != ends[part] {
			t.Fatalf("partition %d: %d records acknowledged, log ends at %d", part, n, ends[part])
		}
	}
}

// leaderOf waits until topic/p has a live leader and returns its metadata.
func (e *kenv) leaderOf(topic string, p int32) kmsg.MetadataResponseTopicPartition {
	e.t.Helper()
	var out kmsg.MetadataResponseTopicPartition
	e.waitFor(fmt.Sprintf("a leader of %s/%d", topic, p), func() error {
		var err error
		out, err = e.partition(topic, p)
		if err == nil && out.Leader < 0 {
			err = fmt.Errorf("no leader")
		}
		return err
	})
	return out
}

// endOffsets is the log end offset of every partition of topic.
func endOffsets(t *testing.T, cl *kgo.Client, topic string, partitions int32) map[int32]int64 {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for p := range partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = p, -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	shards := cl.RequestSharded(testCtx(t), req)
	out := map[int32]int64{}
	for _, s := range shards {
		if s.Err != nil {
			t.Fatalf("list offsets: %v", s.Err)
		}
		for _, rt := range s.Resp.(*kmsg.ListOffsetsResponse).Topics {
			for _, rp := range rt.Partitions {
				if rp.ErrorCode != 0 {
					t.Fatalf("list offsets %s/%d: error %d", topic, rp.Partition, rp.ErrorCode)
				}
				out[rp.Partition] = rp.Offset
			}
		}
	}
	return out
}

// consumeAll reads topic from the start up to ends and returns each
// partition's sequence numbers by offset.
func consumeAll(t *testing.T, e *kenv, topic string, ends map[int32]int64) map[int32]map[int64]int {
	t.Helper()
	cons := newClient(t, e.c, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	out := map[int32]map[int64]int{}
	remaining := 0
	for p, end := range ends {
		out[p] = map[int64]int{}
		remaining += int(end)
	}
	for remaining > 0 {
		fs := cons.PollFetches(testCtx(t))
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if _, dup := out[r.Partition][r.Offset]; dup || r.Offset >= ends[r.Partition] {
				return
			}
			seq, err := strconv.Atoi(strings.TrimPrefix(string(r.Value), "seq-"))
			if err != nil {
				t.Errorf("partition %d offset %d: value %q", r.Partition, r.Offset, r.Value)
			}
			out[r.Partition][r.Offset] = seq
			remaining--
		})
	}
	return out
}
