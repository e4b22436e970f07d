package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
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
	// producers and consumers run concurrently in one bench.
	producers  int
	consumers  int
	cpuProfile string
	// txnID makes bench produce transactional, committing every
	// commitInterval (bench_txn.go).
	txnID          string
	commitInterval time.Duration
	// breakdown makes bench produce report the latency of each stage
	// (bench_breakdown.go).
	breakdown bool
}

func (a *app) benchCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure produce and consume throughput and latency"}
	cmd.AddCommand(a.benchProduce(), a.benchConsume(), a.benchKafkaProduce(), a.benchKafkaConsume())
	return cmd
}

func (f *benchFlags) register(cmd *cobra.Command, duration time.Duration, durationHelp string) {
	fs := cmd.Flags()
	fs.StringVar(&f.topic, "topic", "sluice-bench", "topic to use (created when missing)")
	fs.Int32Var(&f.partitions, "partitions", 1, "partitions of the topic when it is created")
	fs.Int32Var(&f.rf, "replication-factor", 1, "replication factor of the topic when it is created")
	fs.DurationVar(&f.duration, "duration", duration, durationHelp)
	fs.Int64Var(&f.records, "records", 0, "stop after this many records (0: no limit; --duration ends the run)")
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

// benchResult is what a bench prints; -o json prints every field.
type benchResult struct {
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	Errors        int64   `json:"errors"`
	FirstError    string  `json:"first_error,omitempty"`
	// Producers or Consumers ran concurrently (one of them is set).
	Producers int `json:"producers,omitempty"`
	Consumers int `json:"consumers,omitempty"`
	// RateOffered is --rate (records/s, 0: unpaced). Unpaced, the
	// latency is from the record being handed to the producer to its
	// acknowledgement and includes the time it queued in the producer's
	// buffer behind the records before it: it measures the buffer, not
	// the broker. Paced below capacity, it is the produce latency.
	RateOffered             float64 `json:"rate_offered"`
	LatencyIncludesQueueing bool    `json:"latency_includes_queueing,omitempty"`
	LatencyP50Ms            float64 `json:"latency_p50_ms,omitempty"`
	LatencyP90Ms            float64 `json:"latency_p90_ms,omitempty"`
	LatencyP99Ms            float64 `json:"latency_p99_ms,omitempty"`
	LatencyP999Ms           float64 `json:"latency_p999_ms,omitempty"`
	LatencyMaxMs            float64 `json:"latency_max_ms,omitempty"`
	// Transactions counts the commits of a transactional run.
	Transactions int64 `json:"transactions,omitempty"`
	// Consume: the partitions read and whether every one was read up to
	// the end offset it had when the bench started (false: --duration or
	// --records stopped it first).
	Partitions int  `json:"partitions,omitempty"`
	ReachedEnd bool `json:"reached_end,omitempty"`
	// Breakdown is the latency by stage of bench produce --breakdown.
	Breakdown *breakdownResult `json:"breakdown,omitempty"`
}

// newLatencyHistogram records latencies in microseconds, from 1 µs to a
// minute, to three significant digits.
func newLatencyHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
}

func (r *benchResult) finish(elapsed time.Duration, h *hdrhistogram.Histogram) {
	r.Seconds = elapsed.Seconds()
	if r.Seconds > 0 {
		r.RecordsPerSec = float64(r.Records) / r.Seconds
		r.MBPerSec = float64(r.Bytes) / r.Seconds / 1e6
	}
	if h != nil && h.TotalCount() > 0 {
		ms := func(us int64) float64 { return float64(us) / 1000 }
		r.LatencyP50Ms, r.LatencyP90Ms = ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(90))
		r.LatencyP99Ms, r.LatencyP999Ms = ms(h.ValueAtQuantile(99)), ms(h.ValueAtQuantile(99.9))
		r.LatencyMaxMs = ms(h.Max())
	}
}

func (a *app) printBench(r benchResult, latency bool) error {
	if a.json() {
		if err := writeJSON(a.stdout, r); err != nil {
			return err
		}
		return r.failure()
	}
	fmt.Fprintf(a.stdout, "%d records, %.1f MB in %.2f s: %.0f records/s, %.1f MB/s\n",
		r.Records, float64(r.Bytes)/1e6, r.Seconds, r.RecordsPerSec, r.MBPerSec)
	if r.Partitions > 0 {
		if r.ReachedEnd {
			fmt.Fprintf(a.stdout, "read %d partitions up to the end offsets they had at the start\n", r.Partitions)
		} else {
			fmt.Fprintf(a.stdout, "stopped before the end offsets of the start on some of %d partitions (--duration or --records)\n", r.Partitions)
		}
	}
	if latency {
		label := "latency ms"
		if r.LatencyIncludesQueueing {
			label = "ack latency ms, including queueing in the producer's buffer (unpaced: this measures the buffer; use --rate for broker latency)"
		}
		fmt.Fprintf(a.stdout, "%s: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
			label, r.LatencyP50Ms, r.LatencyP90Ms, r.LatencyP99Ms, r.LatencyP999Ms, r.LatencyMaxMs)
	}
	if r.Breakdown != nil {
		r.Breakdown.print(a.stdout)
	}
	if r.Transactions > 0 {
		fmt.Fprintf(a.stdout, "%d transactions committed\n", r.Transactions)
	}
	return r.failure()
}

// failure is the error a bench with failed records exits with.
func (r benchResult) failure() error {
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
