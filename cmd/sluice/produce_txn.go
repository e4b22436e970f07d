package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluice-mq/sluice/client"
)

// txnFlags make produce transactional.
type txnFlags struct {
	id      string
	records int
}

func (f *txnFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.id, "transactional-id", "", "write in transactions of this transactional id (fences older producers with it)")
	fs.IntVar(&f.records, "txn-records", 1000, "with --transactional-id: lines per transaction")
}

func (f *txnFlags) apply(cfg *client.ProducerConfig) error {
	if f.id == "" {
		return nil
	}
	if f.records <= 0 {
		return usagef("--txn-records must be positive")
	}
	cfg.TransactionalID = f.id
	return nil
}

// produceTransactions sends every line of in as a record, committing a
// transaction every perTxn lines and at the end, and returns how many
// records were committed. A failed transaction is aborted and ends the
// run.
func produceTransactions(ctx context.Context, p *client.Producer, lines *lineScanner, perTxn int) (int, error) {
	if err := p.InitTransactions(ctx); err != nil {
		return 0, err
	}
	committed, open := 0, 0
	commit := func() error {
		if err := p.CommitTransaction(ctx); err != nil {
			if !errors.Is(err, client.ErrProducerClosed) {
				if aerr := p.AbortTransaction(ctx); aerr != nil {
					err = fmt.Errorf("%w (abort: %w)", err, aerr)
				}
			}
			return fmt.Errorf("commit after %d committed records: %w", committed, err)
		}
		committed += open
		open = 0
		return nil
	}
	for rec := lines.next(); rec != nil; rec = lines.next() {
		if ctx.Err() != nil {
			return committed, ctx.Err()
		}
		if open == 0 {
			if err := p.BeginTransaction(); err != nil {
				return committed, err
			}
		}
		p.ProduceAsync(ctx, rec, nil) // a failed record fails the commit
		open++
		if open == perTxn {
			if err := commit(); err != nil {
				return committed, err
			}
		}
	}
	if lines.err != nil {
		if open > 0 {
			_ = p.AbortTransaction(ctx)
		}
		return committed, lines.err
	}
	if open > 0 {
		if err := commit(); err != nil {
			return committed, err
		}
	}
	return committed, nil
}
