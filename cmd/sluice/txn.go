package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
)

func (a *app) txnCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "txn", Short: "List and describe transactions (like kafka-transactions.sh)"}
	cmd.AddCommand(a.txnList(), a.txnDescribe(), a.txnProducers(), a.txnAbort())
	return cmd
}

func (a *app) txnList() *cobra.Command {
	var filter client.TransactionFilter
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List transactional ids with their producer id and state",
		Args:  cobra.NoArgs,
	}
	cmd.Flags().StringSliceVar(&filter.States, "state", nil, "only these states (Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort)")
	cmd.Flags().Int64SliceVar(&filter.ProducerIDs, "producer-id", nil, "only these producer ids")
	cmd.Flags().DurationVar(&filter.OpenLongerThan, "open-longer-than", 0, "only transactions open for longer than this (e.g. 5m)")
	cmd.RunE = runListing(a, func(c *client.Client, ctx context.Context) ([]client.TransactionListing, error) {
		return c.ListTransactions(ctx, filter)
	}, func(txns []client.TransactionListing) error {
		t := newTable(a.stdout, "TRANSACTIONAL-ID", "PRODUCER-ID", "STATE", "COORDINATOR")
		for _, x := range txns {
			t.row(x.TransactionalID, x.ProducerID, x.State, x.Coordinator)
		}
		return t.flush()
	})
	return cmd
}

func (a *app) txnDescribe() *cobra.Command {
	return &cobra.Command{
		Use:   "describe TRANSACTIONAL-ID",
		Short: "Show a transactional id's producer, state, timeout and the partitions of its open transaction",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			d, err := c.DescribeTransaction(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if a.json() {
				return writeJSON(a.stdout, d)
			}
			start := "-"
			if !d.StartTime.IsZero() {
				start = d.StartTime.UTC().Format(time.RFC3339Nano)
			}
			t := newTable(a.stdout, "TRANSACTIONAL-ID", "COORDINATOR", "PRODUCER-ID", "PRODUCER-EPOCH", "STATE", "TIMEOUT", "START-TIME", "PARTITIONS")
			parts := "-"
			for i, p := range d.Partitions {
				if i == 0 {
					parts = ""
				} else {
					parts += ","
				}
				parts += fmt.Sprintf("%s-%d", p.Topic, p.Partition)
			}
			t.row(d.TransactionalID, d.Coordinator, d.ProducerID, d.ProducerEpoch, d.State, d.Timeout, start, parts)
			return t.flush()
		},
	}
}

func (a *app) txnProducers() *cobra.Command {
	return &cobra.Command{
		Use:   "producers TOPIC PARTITION",
		Short: "Show the producers a partition's leader tracks and their open transactions",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			partition, err := strconv.ParseInt(args[1], 10, 32)
			if err != nil {
				return usagef("partition %q: %v", args[1], err)
			}
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			d, err := c.DescribeProducers(cmd.Context(), args[0], int32(partition))
			if err != nil {
				return err
			}
			if a.json() {
				return writeJSON(a.stdout, d)
			}
			fmt.Fprintf(a.stdout, "%s/%d: last stable offset %d, high watermark %d\n\n", d.Topic, d.Partition, d.LastStableOffset, d.HighWatermark)
			t := newTable(a.stdout, "PRODUCER-ID", "PRODUCER-EPOCH", "LAST-SEQUENCE", "LAST-TIMESTAMP", "COORDINATOR-EPOCH", "CURRENT-TXN-START-OFFSET")
			for _, p := range d.Producers {
				start := "-"
				if p.CurrentTxnStartOffset >= 0 {
					start = strconv.FormatInt(p.CurrentTxnStartOffset, 10)
				}
				t.row(p.ProducerID, p.ProducerEpoch, p.LastSequence, p.LastTimestamp.UTC().Format(time.RFC3339Nano), p.CoordinatorEpoch, start)
			}
			return t.flush()
		},
	}
}

func (a *app) txnAbort() *cobra.Command {
	var topic string
	var partition int32
	var startOffset, producerID int64
	var producerEpoch, coordinatorEpoch int32
	cmd := &cobra.Command{
		Use:   "abort",
		Short: "Abort a hanging transaction in one partition (writes an ABORT marker, like kafka-transactions.sh abort)",
		Long: "abort writes an ABORT marker for one producer's open transaction in one partition: a\n" +
			"transaction its coordinator no longer knows holds read_committed consumers at the last\n" +
			"stable offset. Name it by --start-offset (its first offset, from `txn producers`) or by\n" +
			"--producer-id, --producer-epoch and --coordinator-epoch.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if topic == "" || partition < 0 {
				return usagef("--topic and --partition are required")
			}
			byOffset := startOffset >= 0
			if byOffset == (producerID >= 0) {
				return usagef("give either --start-offset or --producer-id (with --producer-epoch)")
			}
			c, err := a.client(cmd.Context())
			if err != nil {
				return err
			}
			defer a.closeClient(c)
			if byOffset {
				d, err := c.DescribeProducers(cmd.Context(), topic, partition)
				if err != nil {
					return err
				}
				found := false
				for _, p := range d.Producers {
					if p.CurrentTxnStartOffset == startOffset {
						producerID, producerEpoch, coordinatorEpoch, found = p.ProducerID, int32(p.ProducerEpoch), p.CoordinatorEpoch, true
					}
				}
				if !found {
					return fmt.Errorf("no open transaction starts at offset %d of %s/%d", startOffset, topic, partition)
				}
			}
			if producerEpoch < 0 || producerEpoch > 1<<15-1 {
				return usagef("--producer-epoch %d out of range", producerEpoch)
			}
			if err := c.AbortPartitionTransaction(cmd.Context(), topic, partition, producerID, int16(producerEpoch), coordinatorEpoch); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "aborted the transaction of producer %d (epoch %d) in %s/%d\n", producerID, producerEpoch, topic, partition)
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&topic, "topic", "", "topic of the partition")
	fs.Int32Var(&partition, "partition", -1, "partition")
	fs.Int64Var(&startOffset, "start-offset", -1, "first offset of the transaction to abort")
	fs.Int64Var(&producerID, "producer-id", -1, "producer of the transaction to abort")
	fs.Int32Var(&producerEpoch, "producer-epoch", -1, "its epoch")
	fs.Int32Var(&coordinatorEpoch, "coordinator-epoch", 0, "its coordinator's epoch")
	return cmd
}
