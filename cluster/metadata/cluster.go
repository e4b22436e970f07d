package metadata

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluice-mq/sluice/cluster"
)

// ClusterIDKey holds the cluster id, created once by the first node.
const ClusterIDKey = "cluster/id"

// ClusterID returns the store's cluster id, "" when it has none.
func ClusterID(ctx context.Context, st cluster.Store) (string, error) {
	kv, err := st.Get(ctx, ClusterIDKey)
	if errors.Is(err, cluster.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("metadata: read cluster id: %w", err)
	}
	return string(kv.Value), nil
}

// EnsureClusterID returns the cluster id, creating a random one when the
// store has none. Concurrent callers agree on the first one written. Only
// a node whose data dir belongs to no cluster yet may call it (see
// cluster/identity): a node of an existing cluster must refuse a store
// without its id instead.
func EnsureClusterID(ctx context.Context, st cluster.Store) (string, error) {
	for {
		id, err := ClusterID(ctx, st)
		if err != nil || id != "" {
			return id, err
		}
		if id, err = newTopicID(); err != nil {
			return "", err
		}
		_, err = st.CAS(ctx, ClusterIDKey, []byte(id), 0)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, cluster.ErrVersionMismatch) {
			return "", fmt.Errorf("metadata: create cluster id: %w", err)
		}
		// Another node created it first: read theirs.
	}
}

// replaceAttempts bounds replace's check-and-set retries.
const replaceAttempts = 16

// replace sets key to value whatever was stored there, by check-and-set
// on the version it read, retried while another writer gets in between.
func replace(ctx context.Context, st cluster.Store, key string, value []byte) error {
	for range replaceAttempts {
		var version uint64
		kv, err := st.Get(ctx, key)
		switch {
		case err == nil:
			version = kv.Version
		case !errors.Is(err, cluster.ErrNotFound):
			return err
		}
		_, err = st.CAS(ctx, key, value, version)
		if !errors.Is(err, cluster.ErrVersionMismatch) {
			return err
		}
	}
	return cluster.ErrVersionMismatch
}
