package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluice-mq/sluice/cluster"
)

// DefaultWaitTime is how long Watch blocks without a change before it
// returns the unchanged listing (Consul's default blocking-query wait).
const DefaultWaitTime = 5 * time.Minute

// maxTombstones bounds the deleted-key records kept for Watch. When more
// accumulate they are dropped and every Watch with an older index wakes once,
// which blocking-query callers must tolerate anyway.
const maxTombstones = 1024

// Errors returned by the local store besides the cluster sentinels.
var (
	// ErrCorrupt means the metadata file failed its length or checksum check
	// or could not be decoded.
	ErrCorrupt = errors.New("local: corrupt metadata file")
	// ErrInvalidKey means a key was empty.
	ErrInvalidKey = errors.New("local: invalid key")
)

// Option configures a Store.
type Option func(*Store)

// WithWaitTime sets how long Watch blocks without a change before it returns
// the unchanged listing. Zero or negative means DefaultWaitTime.
func WithWaitTime(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.waitTime = d
		}
	}
}

// entry is one stored key. Invariant: version > 0 and version <= Store.index.
type entry struct {
	value   []byte
	version uint64
}

// Store is a cluster.Store kept in memory and, unless opened with OpenMemory,
// persisted to one file that is atomically replaced on every write.
type Store struct {
	path     string // metadata file; empty in memory mode
	dir      string
	waitTime time.Duration
	lock     *os.File // advisory lock on the directory; nil in memory mode

	mu sync.Mutex // guards the following
	// index is the store's global change counter; every write or delete
	// takes the next value, and a written key's version is that value.
	index   uint64
	entries map[string]entry
	// tombstones records the index at which each deleted key was removed,
	// so Watch on a prefix notices deletions.
	tombstones map[string]uint64
	// tombstoneFloor: any change at or below it may have been a deletion
	// whose tombstone was dropped. Invariant: tombstoneFloor <= index.
	tombstoneFloor uint64
	// changed is closed and replaced on every change, waking watchers.
	changed chan struct{}
	// queue holds writes waiting to be committed. While committing is set,
	// one writer commits batches for every writer (see commit.go); idle is
	// signalled when it stops.
	queue      []*writeOp
	committing bool
	idle       *sync.Cond
	closed     bool
	done       chan struct{} // closed by Close
}

var (
	_ cluster.Store      = (*Store)(nil)
	_ cluster.BulkPutter = (*Store)(nil)
)

// OpenMemory returns a Store that keeps everything in memory, for tests and
// tools that need no durability.
func OpenMemory(opts ...Option) *Store {
	s := newStore(opts)
	return s
}

// Open opens (or creates) the metadata store in dir, creating the directory
// if needed. It returns an error wrapping ErrCorrupt when the file exists but
// cannot be trusted. Only one Store may have dir open at a time.
func Open(dir string, opts ...Option) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("local: create metadata dir: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s := newStore(opts)
	s.dir = dir
	s.path = filepath.Join(dir, fileName)
	s.lock = lock
	index, entries, err := readFile(s.path)
	if err != nil {
		unlockDir(lock)
		return nil, err
	}
	s.index = index
	s.entries = entries
	s.tombstoneFloor = index
	return s, nil
}

func newStore(opts []Option) *Store {
	s := &Store{
		waitTime:   DefaultWaitTime,
		entries:    make(map[string]entry),
		tombstones: make(map[string]uint64),
		changed:    make(chan struct{}),
		done:       make(chan struct{}),
	}
	s.idle = sync.NewCond(&s.mu)
	for _, o := range opts {
		o(s)
	}
	return s
}

// Get returns the key, or cluster.ErrNotFound. The caller owns the value.
func (s *Store) Get(ctx context.Context, key string) (cluster.KV, error) {
	if err := ctx.Err(); err != nil {
		return cluster.KV{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return cluster.KV{}, cluster.ErrClosed
	}
	e, ok := s.entries[key]
	if !ok {
		return cluster.KV{}, fmt.Errorf("get %q: %w", key, cluster.ErrNotFound)
	}
	return cluster.KV{Key: key, Value: clone(e.value), Version: e.version}, nil
}

// List returns every key under prefix sorted by key, and the store index.
func (s *Store) List(ctx context.Context, prefix string) ([]cluster.KV, uint64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, 0, cluster.ErrClosed
	}
	return s.listLocked(prefix), s.index, nil
}

func (s *Store) listLocked(prefix string) []cluster.KV {
	var kvs []cluster.KV
	for k, e := range s.entries {
		if strings.HasPrefix(k, prefix) {
			kvs = append(kvs, cluster.KV{Key: k, Value: clone(e.value), Version: e.version})
		}
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].Key < kvs[j].Key })
	return kvs
}

// CAS writes value when the key's version equals version (0: must not
// exist). The write is durable before CAS returns.
func (s *Store) CAS(ctx context.Context, key string, value []byte, version uint64) (uint64, error) {
	if key == "" {
		return 0, ErrInvalidKey
	}
	op := &writeOp{kind: opCAS, key: key, value: clone(value), version: version}
	if err := s.submit(ctx, op); err != nil {
		return 0, err
	}
	return op.result, nil
}

// PutAll writes every key whatever its version, in one durable commit
// (cluster.BulkPutter): a topic's thousands of partition states cost one
// file write, not one per batch of concurrent writers.
func (s *Store) PutAll(ctx context.Context, kvs []cluster.KV) error {
	ops := make([]*writeOp, len(kvs))
	for i, kv := range kvs {
		if kv.Key == "" {
			return ErrInvalidKey
		}
		ops[i] = &writeOp{kind: opPut, key: kv.Key, value: clone(kv.Value)}
	}
	return s.submitAll(ctx, ops)
}

// Delete removes the key when its version equals version (0: any).
func (s *Store) Delete(ctx context.Context, key string, version uint64) error {
	return s.submit(ctx, &writeOp{kind: opDelete, key: key, version: version})
}

// DeleteTree removes every key under prefix in one durable write.
func (s *Store) DeleteTree(ctx context.Context, prefix string) error {
	return s.submit(ctx, &writeOp{kind: opDeleteTree, key: prefix})
}

// commitLocked makes index the store index after a persisted change and
// wakes every watcher.
func (s *Store) commitLocked(index uint64) {
	s.index = index
	if len(s.tombstones) > maxTombstones {
		clear(s.tombstones)
		s.tombstoneFloor = index
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// prefixIndexLocked returns the index of the last change under prefix that
// the store still knows of: the newest version of a key under it, a
// tombstone, or the tombstone floor when deletions may have been forgotten.
func (s *Store) prefixIndexLocked(prefix string) uint64 {
	last := s.tombstoneFloor
	for k, e := range s.entries {
		if e.version > last && strings.HasPrefix(k, prefix) {
			last = e.version
		}
	}
	for k, i := range s.tombstones {
		if i > last && strings.HasPrefix(k, prefix) {
			last = i
		}
	}
	return last
}

// Watch blocks until something under prefix changes after index, the wait
// time passes, or ctx is done. Index 0, or an index ahead of the store (a
// store that was reset), returns at once.
func (s *Store) Watch(ctx context.Context, prefix string, index uint64) ([]cluster.KV, uint64, error) {
	timer := time.NewTimer(s.waitTime)
	defer timer.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, 0, cluster.ErrClosed
		}
		if index == 0 || index > s.index || s.prefixIndexLocked(prefix) > index {
			kvs, current := s.listLocked(prefix), s.index
			s.mu.Unlock()
			return kvs, current, nil
		}
		changed := s.changed
		s.mu.Unlock()

		select {
		case <-changed: // something changed; re-check the prefix
		case <-timer.C: // wait time over: return the unchanged listing
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.closed {
				return nil, 0, cluster.ErrClosed
			}
			return s.listLocked(prefix), s.index, nil
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		case <-s.done:
			return nil, 0, cluster.ErrClosed
		}
	}
}

// Close waits for writes already submitted to finish and releases the
// directory lock; later calls return cluster.ErrClosed and blocked watchers
// return it at once.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return cluster.ErrClosed
	}
	s.closed = true
	close(s.done)
	for s.committing {
		s.idle.Wait()
	}
	if s.lock != nil {
		return unlockDir(s.lock)
	}
	return nil
}

func clone(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return append([]byte(nil), b...)
}
