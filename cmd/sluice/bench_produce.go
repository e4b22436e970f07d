package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
)

func (a *app) benchProduce() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "produce",
		Short: "Produce records; report throughput, and latency when paced with --rate",
		Long: `Produce records as fast as possible (or at --rate records/s) and report
throughput and acknowledgement latency.

Unpaced, the latency of a record includes the time it waited in the
producer's buffer behind the records before it: it measures the buffer,
and the output says so. Paced below capacity (--rate), it is the time the
broker takes to acknowledge.

--breakdown also reports p50, p99 and max of each stage of a request:
the client queue (first record of its oldest batch appended to the send,
linger included), remote + mailbox (the round trip less the broker's
total: transport both ways and the wait in the leader's mailbox), the
leader's append, flush (when the topic's flush.policy makes the answer
wait), replicate (acks all) and total, the round trip, and the
end-to-end acknowledgement per record.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config()
			if err != nil {
				return err
			}
			if f.recordSize < 0 {
				return usagef("--record-size must not be negative")
			}
			if f.producers < 1 {
				return usagef("--producers must be at least 1")
			}
			if f.rate < 0 {
				return usagef("--rate must not be negative")
			}
			ctx := cmd.Context()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			if err := ensureTopic(ctx, c, &f); err != nil {
				return err
			}
			if f.txnID != "" && !cmd.Flags().Changed("acks") {
				cfg.Acks = client.AcksAll // transactions need acks=all
			}
			var bd *breakdown
			if f.breakdown {
				bd = newBreakdown()
				cfg.OnProduceTiming = bd.observe
			}
			producers := make([]*client.Producer, f.producers)
			txns := make([]*benchTransactions, f.producers)
			closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*a.timeout)
			defer cancel()
			for i := range producers {
				pc := cfg
				if f.txnID != "" {
					pc.TransactionalID = f.txnID
					if f.producers > 1 {
						pc.TransactionalID = fmt.Sprintf("%s-%d", f.txnID, i)
					}
				}
				p, err := client.NewProducer(c, pc)
				if err != nil {
					return err
				}
				defer func() { _ = p.Close(closeCtx) }() // Close is idempotent
				producers[i] = p
				if txns[i], err = startBenchTransactions(ctx, p, &f, pc.TransactionalID); err != nil {
					return err
				}
			}
			stop, err := f.startProfile()
			if err != nil {
				return err
			}
			r := runProduceBench(ctx, producers, &f, txns, bd)
			stop()
			for _, p := range producers {
				if err := p.Close(closeCtx); err != nil {
					return err
				}
			}
			return a.printBench(r, true)
		},
	}
	f.producerFlags.register(cmd, "1")
	f.register(cmd, 10*time.Second, "how long to run (unless --records is set)")
	cmd.Flags().IntVar(&f.recordSize, "record-size", 1024, "value size of each record in bytes")
	cmd.Flags().Float64Var(&f.rate, "rate", 0, "records per second to offer in all (0: as fast as possible), for latency at a given load")
	cmd.Flags().IntVar(&f.producers, "producers", 1, "concurrent producers, each with its own buffers (--rate and --records are shared among them)")
	cmd.Flags().StringVar(&f.txnID, "transactional-id", "", "produce in transactions of this transactional id (suffixed -N with --producers)")
	cmd.Flags().DurationVar(&f.commitInterval, "commit-interval", 100*time.Millisecond, "with --transactional-id: how often to commit")
	cmd.Flags().BoolVar(&f.breakdown, "breakdown", false, "also report the latency of each stage: client queue, remote + mailbox, broker append, flush, replicate, total (paced with --rate for broker latency)")
	return cmd
}

// produceTally is what the producers of one run count together.
type produceTally struct {
	mu       sync.Mutex // guards h
	h        *hdrhistogram.Histogram
	acked    atomic.Int64
	failed   atomic.Int64
	firstErr atomic.Pointer[string]
}

func (t *produceTally) done(t0 time.Time, err error) {
	if err != nil {
		t.failed.Add(1)
		msg := err.Error()
		t.firstErr.CompareAndSwap(nil, &msg)
		return
	}
	t.acked.Add(1)
	us := time.Since(t0).Microseconds()
	t.mu.Lock()
	_ = t.h.RecordValue(max(us, 1))
	t.mu.Unlock()
}

// runProduceBench runs the producers concurrently until the duration or
// record count is reached and waits for every acknowledgement. Latency is
// from ProduceAsync to the delivery callback, in microseconds. bd (nil:
// none) is the breakdown the producers report to.
func runProduceBench(ctx context.Context, producers []*client.Producer, f *benchFlags, txns []*benchTransactions, bd *breakdown) benchResult {
	tally := &produceTally{h: newLatencyHistogram()}
	n := int64(len(producers))
	start := time.Now()
	var wg sync.WaitGroup
	for i, p := range producers {
		quota := int64(0) // 0: unbounded
		if f.records > 0 {
			quota = f.records / n
			if int64(i) < f.records%n {
				quota++
			}
		}
		wg.Go(func() {
			produceLoop(ctx, p, f, txns[i], tally, start, quota, f.rate/float64(n))
		})
	}
	wg.Wait()
	r := benchResult{
		Records: tally.acked.Load(), Bytes: tally.acked.Load() * int64(f.recordSize), Errors: tally.failed.Load(),
		Producers: len(producers), RateOffered: f.rate, LatencyIncludesQueueing: f.rate == 0,
	}
	for _, txn := range txns {
		if txn == nil {
			continue
		}
		r.Transactions += txn.commits
		if txn.err != nil && r.FirstError == "" {
			r.FirstError = txn.err.Error()
		}
	}
	if e := tally.firstErr.Load(); e != nil {
		r.FirstError = *e
	}
	r.finish(time.Since(start), tally.h)
	if bd != nil {
		r.Breakdown = bd.result(tally.h)
	}
	return r
}

// produceLoop is one producer's part of the run: quota records (0: until
// the duration ends), paced at rate records/s when rate > 0.
func produceLoop(ctx context.Context, p *client.Producer, f *benchFlags, txn *benchTransactions,
	tally *produceTally, start time.Time, quota int64, rate float64) {
	value := make([]byte, f.recordSize)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	deadline := start.Add(f.duration)
	rec := &client.Record{Topic: f.topic, Partition: client.AnyPartition, Value: value}
	for sent := int64(0); f.records == 0 || sent < quota; sent++ {
		if sent%1024 == 0 && (ctx.Err() != nil || (f.records == 0 && time.Now().After(deadline))) {
			break
		}
		if txn != nil && sent%64 == 0 {
			txn.maybeCommit(ctx)
		}
		if rate > 0 && sent%16 == 0 {
			// Pace in steps of 16 records: sleep until the schedule.
			due := start.Add(time.Duration(float64(sent) / rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
		t0 := time.Now()
		p.ProduceAsync(ctx, rec, func(_ client.RecordMetadata, err error) { tally.done(t0, err) })
	}
	_ = p.Flush(context.WithoutCancel(ctx))
	if txn != nil {
		txn.finish(context.WithoutCancel(ctx))
	}
}
