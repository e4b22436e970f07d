package client

import (
	"errors"
	"testing"
)

func TestTxnManagerRefusesBumpInsideTransaction(t *testing.T) {
	tm := newTxnManager(nil, "t")
	// No transaction open, or one with nothing at the coordinator yet: a
	// bump aborts nothing.
	if err := tm.mayBump(); err != nil {
		t.Fatal(err)
	}
	tm.phase = txnOpen
	if err := tm.mayBump(); err != nil {
		t.Fatal(err)
	}
	// With a partition added the bump would abort the transaction: it
	// fails instead, and the transaction can only be aborted.
	tm.added[TopicPartition{Topic: "out"}] = true
	if err := tm.mayBump(); !errors.Is(err, ErrTransactionAborted) {
		t.Fatalf("bump inside a transaction: %v", err)
	}
	if err := tm.check(); !errors.Is(err, ErrTransactionAborted) {
		t.Fatalf("transaction after a refused bump: %v", err)
	}
	if _, err := tm.admit(func(RecordMetadata, error) {}); !errors.Is(err, ErrTransactionAborted) {
		t.Fatalf("record after a refused bump: %v", err)
	}
}

func TestProducerConfigTransactional(t *testing.T) {
	cfg := ProducerConfig{TransactionalID: "t", Idempotence: IdempotenceOff}
	if err := cfg.applyTransactional(); err == nil {
		t.Fatal("transactions without idempotence accepted")
	}
	cfg = ProducerConfig{TransactionalID: "t"}
	if err := cfg.applyTransactional(); err != nil || cfg.Idempotence != IdempotenceOn || cfg.TransactionTimeout != DefaultTransactionTimeout {
		t.Fatalf("defaults %+v %v", cfg, err)
	}
	cfg = ProducerConfig{TransactionalID: "t", Acks: AcksLeader}
	if err := cfg.applyTransactional(); err != nil {
		t.Fatal(err)
	}
	if err := cfg.resolveIdempotence(); err == nil {
		t.Fatal("transactions with acks=1 accepted")
	}
}
