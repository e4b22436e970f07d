package consul

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/hashicorp/consul/api"

	"github.com/sluice-mq/sluice/cluster"
)

// Store is a cluster.Store on Consul KV. A key's Version is its Consul
// ModifyIndex; CAS and versioned deletes run as one-operation (or
// check-then-delete) transactions so that the new version comes back with
// the write. Safe for concurrent use.
type Store struct {
	conn *conn

	mu     sync.Mutex // guards closed
	closed bool
}

var _ cluster.Store = (*Store)(nil)

// NewStore returns a Store for cfg. It does not contact Consul: an
// unreachable agent shows up as cluster.ErrUnavailable from the calls.
func NewStore(cfg Config) (*Store, error) {
	c, err := newConn(cfg)
	if err != nil {
		return nil, err
	}
	return &Store{conn: c}, nil
}

// Get returns the key, or an error wrapping cluster.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) (cluster.KV, error) {
	full, err := s.conn.fullKey(key)
	if err != nil {
		return cluster.KV{}, err
	}
	pair, _, err := s.conn.get(ctx, full)
	if err != nil {
		return cluster.KV{}, err
	}
	if pair == nil {
		return cluster.KV{}, fmt.Errorf("consul: get %q: %w", key, cluster.ErrNotFound)
	}
	return s.kv(pair), nil
}

// List returns every key under prefix sorted by key, and the index of the
// listing for Watch.
func (s *Store) List(ctx context.Context, prefix string) ([]cluster.KV, uint64, error) {
	pairs, index, err := s.conn.list(ctx, s.conn.cfg.Prefix+prefix)
	if err != nil {
		return nil, 0, err
	}
	return s.kvs(pairs), index, nil
}

// Watch blocks until something under prefix changes after index, the wait
// time passes (the unchanged listing comes back) or ctx is done. Index 0,
// or an index Consul has gone back past, returns the listing at once.
func (s *Store) Watch(ctx context.Context, prefix string, index uint64) ([]cluster.KV, uint64, error) {
	pairs, index, err := s.conn.watch(ctx, s.conn.cfg.Prefix+prefix, index, s.conn.cfg.WaitTime)
	if err != nil {
		return nil, 0, err
	}
	return s.kvs(pairs), index, nil
}

// CAS writes value when the key's version equals version (0: the key must
// not exist) and returns the new version.
func (s *Store) CAS(ctx context.Context, key string, value []byte, version uint64) (uint64, error) {
	full, err := s.conn.fullKey(key)
	if err != nil {
		return 0, err
	}
	results, err := s.txn(ctx, "cas "+key, api.TxnOps{
		{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: full, Value: value, Index: version}},
	})
	if err != nil {
		return 0, err
	}
	if len(results) != 1 || results[0].KV == nil {
		return 0, fmt.Errorf("consul: cas %q: transaction returned %d results", key, len(results))
	}
	return results[0].KV.ModifyIndex, nil
}

// Delete removes the key when its version equals version (0: whatever is
// there). A missing key is fine with version 0 and ErrVersionMismatch with
// a version.
func (s *Store) Delete(ctx context.Context, key string, version uint64) error {
	full, err := s.conn.fullKey(key)
	if err != nil {
		return err
	}
	ops := api.TxnOps{{KV: &api.KVTxnOp{Verb: api.KVDelete, Key: full}}}
	if version != 0 {
		// Consul's delete-cas succeeds on a missing key; check-index fails.
		ops = append(api.TxnOps{{KV: &api.KVTxnOp{Verb: api.KVCheckIndex, Key: full, Index: version}}}, ops...)
	}
	_, err = s.txn(ctx, "delete "+key, ops)
	return err
}

// DeleteTree removes every key under prefix.
func (s *Store) DeleteTree(ctx context.Context, prefix string) error {
	full := s.conn.cfg.Prefix + prefix
	return s.conn.do(ctx, "delete tree "+full, s.conn.cfg.Timeout, func(ctx context.Context) error {
		_, err := s.conn.client.KV().DeleteTree(full, (&api.WriteOptions{}).WithContext(ctx))
		return err
	})
}

// Close ends blocked watches and in-flight calls; later calls return
// cluster.ErrClosed, as does a second Close.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return cluster.ErrClosed
	}
	s.closed = true
	s.conn.shutdown()
	return nil
}

// txn runs ops as one Consul transaction. A transaction Consul rolled back
// because a check failed is cluster.ErrVersionMismatch.
func (s *Store) txn(ctx context.Context, op string, ops api.TxnOps) (api.TxnResults, error) {
	var resp api.TxnResponse
	err := s.conn.do(ctx, op, s.conn.cfg.Timeout, func(ctx context.Context) error {
		// Raw.Write keeps the HTTP status (Txn folds a 500 into a plain
		// error); 409 carries the rollback reasons in its body.
		_, err := s.conn.client.Raw().Write("/v1/txn", ops, &resp, (&api.WriteOptions{}).WithContext(ctx))
		return err
	})
	var status api.StatusError
	if errors.As(err, &status) && status.Code == http.StatusConflict {
		var rolledBack api.TxnResponse
		if json.Unmarshal([]byte(status.Body), &rolledBack) != nil || len(rolledBack.Errors) == 0 {
			return nil, fmt.Errorf("consul: %s: %w", op, err)
		}
		reasons := make([]string, len(rolledBack.Errors))
		for i, e := range rolledBack.Errors {
			reasons[i] = e.What
		}
		return nil, fmt.Errorf("consul: %s: %s: %w", op, strings.Join(reasons, "; "), cluster.ErrVersionMismatch)
	}
	if err != nil {
		return nil, err
	}
	return resp.Results, nil
}

func (s *Store) kv(pair *api.KVPair) cluster.KV {
	value := pair.Value
	if value == nil {
		value = []byte{}
	}
	return cluster.KV{Key: s.conn.relKey(pair.Key), Value: value, Version: pair.ModifyIndex}
}

func (s *Store) kvs(pairs api.KVPairs) []cluster.KV {
	if len(pairs) == 0 {
		return nil
	}
	kvs := make([]cluster.KV, len(pairs))
	for i, p := range pairs {
		kvs[i] = s.kv(p)
	}
	return kvs
}
