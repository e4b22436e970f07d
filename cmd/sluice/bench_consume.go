package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
)

func (a *app) benchConsume() *cobra.Command {
	var f benchFlags
	var fetchMax int32
	cmd := &cobra.Command{
		Use:   "consume",
		Short: "Read a topic from the beginning up to its end offsets at the start; report throughput",
		Long: `Read every partition of a topic from the beginning up to the end offset it
had when the bench started, and report throughput. --duration (a limit)
or --records stop it earlier; the output says whether the end was reached.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.consumers < 1 {
				return usagef("--consumers must be at least 1")
			}
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
			ends, err := endOffsets(ctx, c, tps)
			if err != nil {
				return err
			}
			n := min(f.consumers, len(tps))
			consumers := make([]*client.Consumer, n)
			for i := range consumers {
				cs, err := client.NewConsumer(c, client.ConsumerConfig{FetchMaxBytes: fetchMax, AutoOffsetReset: client.ResetEarliest,
					FetchMaxWait: 100 * time.Millisecond})
				if err != nil {
					return err
				}
				defer func() { _ = cs.Close(context.Background()) }()
				consumers[i] = cs
			}
			shares := make([][]client.TopicPartition, n)
			for i, tp := range tps { // round robin
				shares[i%n] = append(shares[i%n], tp)
			}
			for i, cs := range consumers {
				cs.Assign(shares[i]...)
			}
			stop, err := f.startProfile()
			if err != nil {
				return err
			}
			r, err := runConsumeBench(ctx, consumers, ends, &f)
			stop()
			if err != nil {
				return err
			}
			return a.printBench(r, false)
		},
	}
	f.register(cmd, time.Minute, "stop after this long even before the end offsets are reached")
	cmd.Flags().Int32Var(&fetchMax, "fetch-max-bytes", 4<<20, "bytes per partition fetch")
	cmd.Flags().IntVar(&f.consumers, "consumers", 1, "concurrent consumers, each reading its share of the partitions")
	return cmd
}

// consumeTally is what the consumers of one run count together.
type consumeTally struct {
	records, bytes atomic.Int64
	// last is when the last record arrived, in nanoseconds since start.
	last     atomic.Int64
	firstErr atomic.Pointer[error]
	short    atomic.Bool // some consumer stopped before its ends
}

// arrived records that records came in now.
func (t *consumeTally) arrived(start time.Time) {
	now := int64(time.Since(start))
	for prev := t.last.Load(); now > prev; prev = t.last.Load() {
		if t.last.CompareAndSwap(prev, now) {
			return
		}
	}
}

// runConsumeBench runs the consumers concurrently until each has read its
// partitions up to ends (or --duration / --records stop it). The time is
// up to the last record read.
func runConsumeBench(ctx context.Context, consumers []*client.Consumer, ends map[client.TopicPartition]int64, f *benchFlags) (benchResult, error) {
	var tally consumeTally
	start := time.Now()
	ctx, cancel := context.WithDeadline(ctx, start.Add(f.duration))
	defer cancel()
	var wg sync.WaitGroup
	for _, cs := range consumers {
		wg.Go(func() {
			if err := consumeLoop(ctx, cs, ends, f, &tally, start); err != nil {
				tally.firstErr.CompareAndSwap(nil, &err)
				cancel()
			}
		})
	}
	wg.Wait()
	if e := tally.firstErr.Load(); e != nil {
		return benchResult{}, *e
	}
	r := benchResult{
		Records: tally.records.Load(), Bytes: tally.bytes.Load(),
		Consumers: len(consumers), Partitions: len(ends), ReachedEnd: !tally.short.Load(),
	}
	r.finish(time.Duration(tally.last.Load()), nil)
	return r, nil
}

// consumeLoop polls one consumer until every partition assigned to it is
// read up to its end, pausing each partition that gets there.
func consumeLoop(ctx context.Context, cs *client.Consumer, ends map[client.TopicPartition]int64, f *benchFlags,
	tally *consumeTally, start time.Time) error {
	left := make(map[client.TopicPartition]int64)
	for _, tp := range cs.Assignment() {
		left[tp] = ends[tp]
	}
	// settle takes the partitions at their end out of left and pauses
	// them. Positions move past transaction markers too, which are never
	// returned as records.
	settle := func() {
		for tp, end := range left {
			if pos, err := cs.Position(ctx, tp); err == nil && pos >= end {
				delete(left, tp)
				_ = cs.Pause(tp)
			}
		}
	}
	settle() // an empty partition is done already
	for len(left) > 0 {
		if f.records > 0 && tally.records.Load() >= f.records {
			tally.short.Store(true)
			return nil
		}
		recs, err := cs.Poll(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				tally.short.Store(true)
				return nil // --duration reached, or interrupted
			}
			return fmt.Errorf("consume: %w", err)
		}
		var bytes int64
		for _, rec := range recs {
			bytes += int64(len(rec.Key) + len(rec.Value))
		}
		if len(recs) > 0 {
			tally.records.Add(int64(len(recs)))
			tally.bytes.Add(bytes)
			tally.arrived(start)
		}
		settle()
	}
	return nil
}
