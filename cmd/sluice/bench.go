package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
)

type benchFlags struct {
	producerFlags
	topic      string
	partitions int32
	rf         int32
	recordSize int
	duration   time.Duration
	records    int64
	rate       float64
	cpuProfile string
	// txnID makes bench produce transactional, committing every
	// commitInterval (bench_txn.go).
	txnID          string
	commitInterval time.Duration
}

func (a *app) benchCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure produce and consume throughput and latency"}
	cmd.AddCommand(a.benchProduce(), a.benchConsume())
	return cmd
}

func (f *benchFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.topic, "topic", "sluice-bench", "topic to use (created when missing)")
	fs.Int32Var(&f.partitions, "partitions", 1, "partitions of the topic when it is created")
	fs.Int32Var(&f.rf, "replication-factor", 1, "replication factor of the topic when it is created")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "how long to run (unless --records is set)")
	fs.Int64Var(&f.records, "records", 0, "stop after this many records (0: run for --duration)")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured run to this file")
}

// startProfile starts the CPU profile requested by --cpuprofile; the
// returned function stops it.
func (f *benchFlags) startProfile() (stop func(), err error) {
	if f.cpuProfile == "" {
		return func() {}, nil
	}
	out, err := os.Create(f.cpuProfile)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		out.Close()
	}, nil
}

// benchResult is what a bench prints.
type benchResult struct {
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	Errors        int64   `json:"errors,omitempty"`
	FirstError    string  `json:"first_error,omitempty"`
	LatencyP50Ms  float64 `json:"latency_p50_ms,omitempty"`
	LatencyP99Ms  float64 `json:"latency_p99_ms,omitempty"`
	LatencyP999Ms float64 `json:"latency_p999_ms,omitempty"`
	LatencyMaxMs  float64 `json:"latency_max_ms,omitempty"`
	// Transactions counts the commits of a transactional run.
	Transactions int64 `json:"transactions,omitempty"`
}

func (r *benchResult) finish(elapsed time.Duration, h *hdrhistogram.Histogram) {
	r.Seconds = elapsed.Seconds()
	if r.Seconds > 0 {
		r.RecordsPerSec = float64(r.Records) / r.Seconds
		r.MBPerSec = float64(r.Bytes) / r.Seconds / 1e6
	}
	if h != nil && h.TotalCount() > 0 {
		ms := func(us int64) float64 { return float64(us) / 1000 }
		r.LatencyP50Ms, r.LatencyP99Ms = ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(99))
		r.LatencyP999Ms, r.LatencyMaxMs = ms(h.ValueAtQuantile(99.9)), ms(h.Max())
	}
}

func (a *app) printBench(r benchResult, latency bool) error {
	if a.json() {
		return writeJSON(a.stdout, r)
	}
	fmt.Fprintf(a.stdout, "%d records, %.1f MB in %.2f s: %.0f records/s, %.1f MB/s\n",
		r.Records, float64(r.Bytes)/1e6, r.Seconds, r.RecordsPerSec, r.MBPerSec)
	if latency {
		fmt.Fprintf(a.stdout, "latency ms: p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
			r.LatencyP50Ms, r.LatencyP99Ms, r.LatencyP999Ms, r.LatencyMaxMs)
	}
	if r.Transactions > 0 {
		fmt.Fprintf(a.stdout, "%d transactions committed\n", r.Transactions)
	}
	if r.Errors > 0 || (r.Transactions > 0 && r.FirstError != "") {
		return fmt.Errorf("%d records failed, the first with: %s", r.Errors, r.FirstError)
	}
	return nil
}

// ensureTopic creates the bench topic unless it exists.
func ensureTopic(ctx context.Context, c *client.Client, f *benchFlags) error {
	_, err := c.CreateTopic(ctx, f.topic, f.partitions, f.rf, nil)
	if errors.Is(err, client.ErrTopicAlreadyExists) {
		return nil
	}
	return err
}

func (a *app) benchProduce() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "produce",
		Short: "Produce records as fast as possible; report throughput and acknowledgement latency",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config()
			if err != nil {
				return err
			}
			if f.recordSize < 0 {
				return usagef("--record-size must not be negative")
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
			if f.txnID != "" {
				if !cmd.Flags().Changed("acks") {
					cfg.Acks = client.AcksAll // transactions need acks=all
				}
				cfg.TransactionalID = f.txnID
			}
			p, err := client.NewProducer(c, cfg)
			if err != nil {
				return err
			}
			txn, err := startBenchTransactions(ctx, p, &f)
			if err != nil {
				return err
			}
			stop, err := f.startProfile()
			if err != nil {
				return err
			}
			r := runProduceBench(ctx, p, &f, txn)
			stop()
			closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*a.timeout)
			defer cancel()
			if err := p.Close(closeCtx); err != nil {
				return err
			}
			return a.printBench(r, true)
		},
	}
	f.producerFlags.register(cmd, "1")
	f.register(cmd)
	cmd.Flags().IntVar(&f.recordSize, "record-size", 1024, "value size of each record in bytes")
	cmd.Flags().Float64Var(&f.rate, "rate", 0, "records per second to offer (0: as fast as possible), for latency at a given load")
	cmd.Flags().StringVar(&f.txnID, "transactional-id", "", "produce in transactions of this transactional id")
	cmd.Flags().DurationVar(&f.commitInterval, "commit-interval", 100*time.Millisecond, "with --transactional-id: how often to commit")
	return cmd
}

// runProduceBench produces until the duration or record count is reached
// and waits for every acknowledgement. Latency is from ProduceAsync to the
// delivery callback, in microseconds.
func runProduceBench(ctx context.Context, p *client.Producer, f *benchFlags, txn *benchTransactions) benchResult {
	h := hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
	var mu sync.Mutex // guards h
	var acked, failed atomic.Int64
	var firstErr atomic.Pointer[string]
	value := make([]byte, f.recordSize)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	start := time.Now()
	deadline := start.Add(f.duration)
	rec := &client.Record{Topic: f.topic, Partition: client.AnyPartition, Value: value}
	var sent int64
	for ; f.records == 0 || sent < f.records; sent++ {
		if sent%1024 == 0 && (ctx.Err() != nil || (f.records == 0 && time.Now().After(deadline))) {
			break
		}
		if txn != nil && sent%64 == 0 {
			txn.maybeCommit(ctx)
		}
		if f.rate > 0 && sent%16 == 0 {
			// Pace in steps of 16 records: sleep until the schedule.
			due := start.Add(time.Duration(float64(sent) / f.rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
		t0 := time.Now()
		p.ProduceAsync(ctx, rec, func(_ client.RecordMetadata, err error) {
			if err != nil {
				failed.Add(1)
				msg := err.Error()
				firstErr.CompareAndSwap(nil, &msg)
				return
			}
			acked.Add(1)
			us := time.Since(t0).Microseconds()
			mu.Lock()
			_ = h.RecordValue(max(us, 1))
			mu.Unlock()
		})
	}
	_ = p.Flush(context.WithoutCancel(ctx))
	if txn != nil {
		txn.finish(context.WithoutCancel(ctx))
	}
	r := benchResult{Records: acked.Load(), Bytes: acked.Load() * int64(f.recordSize), Errors: failed.Load()}
	if txn != nil {
		r.Transactions = txn.commits
		if txn.err != nil && r.FirstError == "" {
			r.FirstError = txn.err.Error()
		}
	}
	if e := firstErr.Load(); e != nil {
		r.FirstError = *e
	}
	r.finish(time.Since(start), h)
	return r
}

func (a *app) benchConsume() *cobra.Command {
	var f benchFlags
	var fetchMax int32
	cmd := &cobra.Command{
		Use:   "consume",
		Short: "Read a topic from the beginning as fast as possible; report throughput",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.client(ctx)
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			tps, err := partitionsOf(ctx, c, f.topic, -1)
			if err != nil {
				return err
			}
			cs, err := client.NewConsumer(c, client.ConsumerConfig{FetchMaxBytes: fetchMax, AutoOffsetReset: client.ResetEarliest,
				FetchMaxWait: 100 * time.Millisecond})
			if err != nil {
				return err
			}
			defer func() { _ = cs.Close(context.Background()) }()
			cs.Assign(tps...)
			stop, err := f.startProfile()
			if err != nil {
				return err
			}
			r, err := runConsumeBench(ctx, cs, &f)
			stop()
			if err != nil {
				return err
			}
			return a.printBench(r, false)
		},
	}
	f.register(cmd)
	cmd.Flags().Int32Var(&fetchMax, "fetch-max-bytes", 4<<20, "bytes per partition fetch")
	return cmd
}

// runConsumeBench polls until the record count, the duration, or a second
// without records.
func runConsumeBench(ctx context.Context, cs *client.Consumer, f *benchFlags) (benchResult, error) {
	var r benchResult
	start := time.Now()
	last := start
	deadline := start.Add(f.duration)
	for (f.records == 0 || r.Records < f.records) && time.Now().Before(deadline) {
		pollCtx, cancel := context.WithTimeout(ctx, time.Second)
		recs, err := cs.Poll(pollCtx)
		cancel()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
				break // interrupted, or caught up and idle
			}
			return r, err
		}
		for _, rec := range recs {
			r.Records++
			r.Bytes += int64(len(rec.Key) + len(rec.Value))
		}
		last = time.Now()
	}
	r.finish(last.Sub(start), nil)
	return r, nil
}
