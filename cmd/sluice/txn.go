package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
)

func (a *app) txnCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "txn", Short: "List and describe transactions (like kafka-transactions.sh)"}
	cmd.AddCommand(a.txnList(), a.txnDescribe())
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
