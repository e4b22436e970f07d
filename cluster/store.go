package cluster

import (
	"context"
	"errors"
)

// Errors returned by Store and Membership implementations.
var (
	// ErrNotFound means the key does not exist.
	ErrNotFound = errors.New("cluster: key not found")
	// ErrVersionMismatch means a check-and-set lost: the key's version is
	// not the one the caller read. Re-read and retry.
	ErrVersionMismatch = errors.New("cluster: version mismatch")
	// ErrClosed means the store or membership was closed.
	ErrClosed = errors.New("cluster: closed")
	// ErrUnavailable means the backing service (Consul) cannot be reached;
	// the caller keeps its current view and retries with backoff.
	ErrUnavailable = errors.New("cluster: metadata store unavailable")
)

// KV is one key of the metadata store. Version increases on every write of
// the key (Consul's ModifyIndex); it is what CAS compares.
type KV struct {
	Key     string
	Value   []byte
	Version uint64
}

// BulkPutter is an optional Store extension, for stores that write many
// keys at once far more cheaply than one by one (the local store persists
// its whole file per commit). PutAll writes each kv.Value under kv.Key
// whatever is stored there (kv.Version is ignored) and returns once all
// are durable; with an error, any of them may have been written.
type BulkPutter interface {
	PutAll(ctx context.Context, kvs []KV) error
}

// Store is the metadata store: a small key/value space changed only by
// check-and-set and watched with blocking queries. Consul KV implements it
// for clusters (cluster/consul), a file in the data dir for a single node
// (cluster/local). Keys are relative to the implementation's root prefix and
// use "/" as separator.
//
// Implementations are safe for concurrent use.
type Store interface {
	// Get returns the key, or ErrNotFound.
	Get(ctx context.Context, key string) (KV, error)

	// List returns every key under prefix, sorted by key, and the store
	// index the listing is consistent with (pass it to Watch).
	List(ctx context.Context, prefix string) ([]KV, uint64, error)

	// CAS writes value when the key's current version equals version;
	// version 0 means "create: the key must not exist". It returns the new
	// version, or ErrVersionMismatch when the check fails.
	CAS(ctx context.Context, key string, value []byte, version uint64) (uint64, error)

	// Delete removes the key when its version equals version (0 deletes
	// whatever is there). Deleting a missing key with version 0 is not an
	// error; with a version it is ErrVersionMismatch.
	Delete(ctx context.Context, key string, version uint64) error

	// DeleteTree removes every key under prefix.
	DeleteTree(ctx context.Context, prefix string) error

	// Watch blocks until something under prefix changes after index, then
	// returns the new listing and index (a blocking query). It returns early
	// with the unchanged listing when the implementation's wait time passes,
	// and ctx.Err() when ctx is done.
	Watch(ctx context.Context, prefix string, index uint64) ([]KV, uint64, error)

	// Close releases resources; later calls return ErrClosed.
	Close() error
}
