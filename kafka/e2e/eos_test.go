package e2e

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	eosIn, eosOut, eosGroup, eosTxnID = "eos-in", "eos-out", "eos-g", "eos-etl"
	eosInputs                         = 1200
	eosKeys                           = 12
	eosPartitions                     = 3
)

// etlLoop is a kgo read-process-write loop: it reads eosIn as a
// read_committed member of eosGroup and writes each record's value to
// eosOut under the same key in a transaction that also commits the
// consumed offsets. done counts the records of committed transactions.
// It returns when ctx ends; errors it goes on after are counted in
// retried.
func etlLoop(ctx context.Context, seeds []string, done, retried *atomic.Int64) error {
	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(seeds...),
		kgo.TransactionalID(eosTxnID),
		kgo.TransactionTimeout(10*time.Second),
		kgo.ConsumerGroup(eosGroup),
		kgo.ConsumeTopics(eosIn),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.SessionTimeout(6*time.Second),
		kgo.RetryTimeout(30*time.Second),
		kgo.FetchMaxWait(200*time.Millisecond),
	)
	if err != nil {
		return err
	}
	defer sess.Close()
	for ctx.Err() == nil {
		fs := sess.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if fs.IsClientClosed() {
			return errors.New("etl: client closed")
		}
		fs.EachError(func(string, int32, error) { retried.Add(1) })
		var recs []*kgo.Record
		fs.EachRecord(func(r *kgo.Record) {
			recs = append(recs, &kgo.Record{Topic: eosOut, Key: r.Key, Value: r.Value})
		})
		if len(recs) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			return fmt.Errorf("etl: begin: %w", err)
		}
		produced := sess.ProduceSync(ctx, recs...).FirstErr()
		end := kgo.TryCommit
		if produced != nil {
			retried.Add(1)
			end = kgo.TryAbort
		}
		committed, err := sess.End(ctx, end)
		switch {
		case err != nil:
			retried.Add(1)
		case committed:
			done.Add(int64(len(recs)))
		default:
			retried.Add(1)
		}
	}
	return nil
}

// TestKgoExactlyOnceAcrossLeaderKill runs a kgo GroupTransactSession
// read-process-write loop from eos-in to eos-out on three nodes while
// the node leading eos-out partition 0 is SIGKILLed mid-run and started
// again: a read_committed consumer of eos-out then sees every input
// record exactly once, in input order per key.
func TestKgoExactlyOnceAcrossLeaderKill(t *testing.T) {
	e := startCluster(t)
	c, admin := e.c, e.admin
	for _, topic := range []string{eosIn, eosOut} {
		createTopicRF(t, admin, topic, eosPartitions, 3, map[string]string{"min.insync.replicas": "2"})
		e.waitInSync(topic)
	}
	seeds := []string{c.Kafka(0), c.Kafka(1), c.Kafka(2)}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var done, retried, produced atomic.Int64
	errs := make(chan error, 2)
	t.Cleanup(func() { cancel(); wg.Wait() })

	// The input: idempotent, acks=all, in chunks so that it keeps
	// arriving while the ETL runs.
	in, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic(eosIn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.Close)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < eosInputs && ctx.Err() == nil; i += 20 {
			var recs []*kgo.Record
			for j := i; j < i+20; j++ {
				recs = append(recs, &kgo.Record{Key: []byte("k" + strconv.Itoa(j%eosKeys)), Value: []byte(strconv.Itoa(j))})
			}
			if err := in.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				if ctx.Err() == nil {
					errs <- fmt.Errorf("produce input: %w", err)
				}
				return
			}
			produced.Add(20)
		}
	}()
	go func() {
		defer wg.Done()
		if err := etlLoop(ctx, seeds, &done, &retried); err != nil {
			errs <- err
		}
	}()

	waitFor := func(what string, limit time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for !cond() {
			select {
			case err := <-errs:
				t.Fatal(err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s (input %d, committed %d, retried %d)", what, limit, produced.Load(), done.Load(), retried.Load())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("first committed output", 30*time.Second, func() bool { return done.Load() >= eosInputs/4 })
	leader, err := e.partition(eosOut, 0)
	if err != nil {
		t.Fatal(err)
	}
	victim := int(leader.Leader - 1)
	c.Kill(victim)
	before := done.Load()
	waitFor("output committed with the leader down", 45*time.Second, func() bool { return done.Load() >= before+eosInputs/8 })
	c.StartNode(victim)
	waitFor("every input committed", 60*time.Second, func() bool { return done.Load() >= eosInputs })
	cancel()
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	t.Logf("node %d killed at %d committed; %d errors retried by the loop", victim+1, before, retried.Load())

	// An end mark in every output partition, committed after the ETL's
	// last transaction: a read_committed reader that reached all of them
	// has read every committed record.
	mark := newClient(t, c, kgo.TransactionalID("eos-mark"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := mark.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for p := range int32(eosPartitions) {
		if err := mark.ProduceSync(testCtx(t), &kgo.Record{Topic: eosOut, Partition: p, Value: []byte("end")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := mark.EndTransaction(testCtx(t), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}

	out := newClient(t, c, kgo.ConsumeTopics(eosOut), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	seen := map[int]int{}
	lastByKey := map[string]int{}
	ends := map[int32]bool{}
	for len(ends) < eosPartitions {
		fs := out.PollFetches(testCtx(t))
		if err := fs.Err0(); err != nil {
			t.Fatalf("read output: %v (ends %v)", err, ends)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Value) == "end" {
				ends[r.Partition] = true
				return
			}
			v, err := strconv.Atoi(string(r.Value))
			if err != nil {
				t.Errorf("output value %q", r.Value)
				return
			}
			seen[v]++
			if prev, ok := lastByKey[string(r.Key)]; ok && v < prev {
				t.Errorf("key %s: %d after %d", r.Key, v, prev)
			}
			lastByKey[string(r.Key)] = v
		})
	}
	var missing, doubled []string
	for i := range eosInputs {
		switch n := seen[i]; {
		case n == 0:
			missing = append(missing, strconv.Itoa(i))
		case n > 1:
			doubled = append(doubled, fmt.Sprintf("%d×%d", i, n))
		}
	}
	if len(missing) > 0 || len(doubled) > 0 || len(seen) != eosInputs {
		t.Fatalf("output: %d distinct of %d; missing %s; more than once %s", len(seen), eosInputs,
			strings.Join(missing, ","), strings.Join(doubled, ","))
	}
}
