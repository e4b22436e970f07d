package integration

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/cluster/clustertest/workload"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

const (
	idemTopic      = "idem"
	idemPartitions = 3
	idemRecords    = 100_000
	// idemRate paces the producer so that the faults below happen while
	// it runs (about 7 s of producing).
	idemRate = 15_000
)

// TestIdempotentProducerExactlyOnce: an idempotent producer writes 100k
// records (record n to partition n%3) while the leader of partition 1 is
// frozen (SIGSTOP) past the produce timeout, so answers of appended
// batches are lost and the batches resent, and while the leader of
// partition 0 is SIGKILLed and restarted. Every record is acknowledged,
// and each partition holds its records exactly once, in produce order.
// Then a hand-built batch out of sequence is refused with
// OUT_OF_ORDER_SEQUENCE_NUMBER and the log is left as it was.
func TestIdempotentProducerExactlyOnce(t *testing.T) {
	e := startEnv(t)
	if _, err := e.cl.CreateTopic(e.ctx(), idemTopic, idemPartitions, 3, map[string]string{"min.insync.replicas": "2"}); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	e.waitInSync(idemTopic)

	p, err := client.NewProducer(e.cl, client.ProducerConfig{
		Idempotence:    client.IdempotenceOn,
		RequestTimeout: 500 * time.Millisecond, // a frozen leader loses answers
		Retries:        100,
	})
	if err != nil {
		t.Fatal(err)
	}
	var (
		acked  atomic.Int64
		mu     sync.Mutex
		failed []error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		for n := range idemRecords {
			if n%1000 == 0 {
				if ahead := time.Duration(n)*time.Second/idemRate - time.Since(start); ahead > 0 {
					time.Sleep(ahead)
				}
			}
			rec := &client.Record{Topic: idemTopic, Partition: int32(n % idemPartitions), Value: []byte(strconv.Itoa(n))}
			p.ProduceAsync(context.Background(), rec, func(_ client.RecordMetadata, err error) {
				if err != nil {
					mu.Lock()
					failed = append(failed, fmt.Errorf("record %d: %w", n, err))
					mu.Unlock()
				}
				acked.Add(1)
			})
		}
	}()
	waitAcked := func(n int64) {
		e.waitFor(fmt.Sprintf("%d records answered", n), func() error {
			if got := acked.Load(); got < n {
				return fmt.Errorf("%d answered", got)
			}
			return nil
		})
	}

	// Lost answers: freeze the leader of partition 1 past the produce
	// timeout (but within its Consul check TTL); what it appended
	// before and right after is answered too late and resent.
	waitAcked(10_000)
	frozen := e.index(e.leaderOf(idemTopic, 1).Leader)
	t.Logf("freezing node %d", e.c.Node(frozen).ID)
	e.c.Pause(frozen)
	time.Sleep(700 * time.Millisecond) // the fault itself: a leader silent for 0.7 s
	e.c.Resume(frozen)

	// Failover: SIGKILL the leader of partition 0 mid-run, then bring
	// it back.
	waitAcked(40_000)
	leader := e.leaderOf(idemTopic, 0)
	killed := e.index(leader.Leader)
	t.Logf("killing node %d, leader of %s/0 in epoch %d", leader.Leader, idemTopic, leader.LeaderEpoch)
	e.c.Kill(killed)
	e.waitLeadersOff(idemTopic, leader.Leader)
	waitAcked(60_000)
	e.c.StartNode(killed)

	<-done
	if err := p.Flush(e.ctx()); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if err := p.Close(e.ctx()); err != nil {
		t.Fatal(err)
	}
	if len(failed) > 0 {
		t.Fatalf("%d records failed, first: %v", len(failed), failed[0])
	}
	e.waitInSync(idemTopic)
	for part := range int32(idemPartitions) {
		checkExactlyOnce(t, e, part)
	}

	outOfSequence(t, e)
}

// checkExactlyOnce reads a partition and checks it holds records
// part, part+3, ... below idemRecords, each once, in that order.
func checkExactlyOnce(t *testing.T, e *env, part int32) {
	t.Helper()
	log, err := workload.ReadPartition(e.ctx(), e.cl, idemTopic, part)
	if err != nil {
		t.Fatal(err)
	}
	offsets := slices.Sorted(maps.Keys(log))
	want := int(part)
	for _, off := range offsets {
		v := log[off]
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s/%d@%d: value %q", idemTopic, part, off, v)
		}
		switch {
		case n < want:
			t.Fatalf("%s/%d@%d: record %d again (duplicate or reordered; expected %d)", idemTopic, part, off, n, want)
		case n > want:
			t.Fatalf("%s/%d@%d: record %d where %d was due (lost or reordered)", idemTopic, part, off, n, want)
		}
		want += idemPartitions
	}
	if want < idemRecords {
		t.Fatalf("%s/%d: records from %d on missing (%d records in the log)", idemTopic, part, want, len(log))
	}
}

// outOfSequence sends hand-built batches straight to a leader: sequence 0
// is appended, its resend is answered with the original offset, and a
// batch that skips sequences is refused with OUT_OF_ORDER_SEQUENCE_NUMBER,
// leaving the log as it was.
func outOfSequence(t *testing.T, e *env) {
	cl := clustertest.NewClient(t)
	init := clustertest.Request[*messages.InitProducerIdResponse](t, cl, e.c.NodePID(0),
		&messages.InitProducerIdRequest{ProducerId: -1, ProducerEpoch: -1})
	if init.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("InitProducerId: %v %s", init.ErrorCode, init.ErrorMessage)
	}
	leader := e.leaderOf(idemTopic, 2)
	pid := e.c.ReplicaPID(e.index(leader.Leader), idemTopic, 2)
	produce := func(seq int32) *messages.ProduceResponse {
		opts := batch.DefaultEncodeOptions()
		opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence = init.ProducerId, int16(init.ProducerEpoch), seq
		b, err := batch.Encode([]batch.Record{{Timestamp: time.Now().UnixMilli(), Value: []byte("forged")}}, opts)
		if err != nil {
			t.Fatal(err)
		}
		return clustertest.Request[*messages.ProduceResponse](t, cl, pid, &messages.ProduceRequest{
			Topic: idemTopic, Partition: 2, Acks: -1, TimeoutMs: 5000, Records: b, LeaderEpoch: leader.LeaderEpoch})
	}
	first := produce(0)
	if first.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("sequence 0: %v %s", first.ErrorCode, first.ErrorMessage)
	}
	if again := produce(0); again.ErrorCode != messages.ErrorCode_NONE || again.BaseOffset != first.BaseOffset {
		t.Fatalf("resend of sequence 0: %v %s at %d, want the original offset %d", again.ErrorCode, again.ErrorMessage, again.BaseOffset, first.BaseOffset)
	}
	end := func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		defer cancel()
		off, _, err := e.cl.ListOffsets(ctx, idemTopic, 2, client.LatestTimestamp)
		if err != nil {
			t.Fatal(err)
		}
		return off
	}
	before := end()
	gap := produce(5)
	if err := messages.ErrorForCode(gap.ErrorCode, gap.ErrorMessage); !errors.Is(err, messages.ErrOutOfOrderSequenceNumber) {
		t.Fatalf("batch at sequence 5 after 0: %v, want OUT_OF_ORDER_SEQUENCE_NUMBER", err)
	}
	if after := end(); after != before {
		t.Fatalf("log end %d after the refused batch, was %d", after, before)
	}
}
