package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/sluice-mq/sluice/client"
)

// Group console consumer timing.
const (
	groupCommitInterval = time.Second
	groupCloseTimeout   = 10 * time.Second
)

// consumeGroup prints records of topic as a member of group: partitions
// come from the group's assignment and start at its committed offsets
// (without one: the log start with --from-beginning, else the log end).
// What was printed is committed every second and on exit, and the member
// leaves the group when it stops.
func consumeGroup(ctx context.Context, c *client.Client, out io.Writer, topic, group string, f consumeFlags) (err error) {
	cfg := client.GroupConfig{GroupID: group, Topics: []string{topic}, AutoOffsetReset: client.ResetLatest,
		Consumer: client.ConsumerConfig{IsolationLevel: f.level}}
	if f.fromBeginning {
		cfg.AutoOffsetReset = client.ResetEarliest
	}
	// printedUpTo holds, per partition, the offset after the last printed
	// record not committed yet. Owned by this goroutine (the callbacks
	// run inside Poll).
	printedUpTo := map[client.TopicPartition]int64{}
	var gc *client.GroupConsumer
	commitSome := func(ctx context.Context, tps []client.TopicPartition) error {
		offsets := map[client.TopicPartition]int64{}
		for _, tp := range tps {
			if o, ok := printedUpTo[tp]; ok {
				offsets[tp] = o
			}
		}
		if len(offsets) == 0 {
			return nil
		}
		err := gc.CommitOffsets(ctx, offsets)
		if err == nil {
			for tp := range offsets {
				delete(printedUpTo, tp)
			}
		}
		return err
	}
	// Partitions taken away are committed first, as far as printed.
	cfg.OnRevoked = func(ctx context.Context, tps []client.TopicPartition) { _ = commitSome(ctx, tps) }
	cfg.OnLost = func(_ context.Context, tps []client.TopicPartition) {
		for _, tp := range tps {
			delete(printedUpTo, tp) // another member owns them now
		}
	}
	gc, err = client.NewGroupConsumer(c, cfg)
	if err != nil {
		return err
	}
	committed := time.Now()
	commit := func(ctx context.Context) error {
		committed = time.Now()
		return commitSome(ctx, gc.Assignment())
	}
	defer func() {
		// Commit and leave even when interrupted: ctx may be done.
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), groupCloseTimeout)
		defer cancel()
		err = errors.Join(err, commit(closeCtx), gc.Close(closeCtx))
	}()
	onPrinted := func(r *client.Record) {
		printedUpTo[client.TopicPartition{Topic: r.Topic, Partition: r.Partition}] = r.Offset + 1
	}
	afterFlush := func() {
		if time.Since(committed) >= groupCommitInterval {
			// A failure (a rebalance under way) is retried next time; the
			// revocation callback commits what a rebalance takes away.
			_ = commit(ctx)
		}
	}
	return printPolled(ctx, out, f, gc.Poll, nil, onPrinted, afterFlush)
}
