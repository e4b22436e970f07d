package main

import (
	"context"
	"time"

	"github.com/sluice-mq/sluice/client"
)

// benchTransactions drives the transactions of a transactional bench
// produce: one is open while records are produced, and it is committed
// every commit interval (the commit waits for the transaction's records,
// as an application's would). Owned by the producing goroutine.
type benchTransactions struct {
	p        *client.Producer
	interval time.Duration
	opened   time.Time
	commits  int64
	err      error // the first failure; transactions stop after it
}

// startBenchTransactions initializes the producer's transactions and opens
// the first; nil when txnID (the producer's transactional id) is empty.
func startBenchTransactions(ctx context.Context, p *client.Producer, f *benchFlags, txnID string) (*benchTransactions, error) {
	if txnID == "" {
		return nil, nil
	}
	if f.commitInterval <= 0 {
		return nil, usagef("--commit-interval must be positive")
	}
	if err := p.InitTransactions(ctx); err != nil {
		return nil, err
	}
	t := &benchTransactions{p: p, interval: f.commitInterval}
	if err := p.BeginTransaction(); err != nil {
		return nil, err
	}
	t.opened = time.Now()
	return t, nil
}

// maybeCommit commits the open transaction once it is interval old and
// opens the next.
func (t *benchTransactions) maybeCommit(ctx context.Context) {
	if t.err != nil || time.Since(t.opened) < t.interval {
		return
	}
	if t.err = t.p.CommitTransaction(ctx); t.err != nil {
		return
	}
	t.commits++
	if t.err = t.p.BeginTransaction(); t.err == nil {
		t.opened = time.Now()
	}
}

// finish commits the last transaction.
func (t *benchTransactions) finish(ctx context.Context) {
	if t.err != nil {
		return
	}
	if t.err = t.p.CommitTransaction(ctx); t.err == nil {
		t.commits++
	}
}
