package metadata

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluice-mq/sluice/cluster"
)

// ClusterIDKey holds the cluster id, created once by the first node.
const ClusterIDKey = "cluster/id"

// EnsureClusterID returns the cluster id, creating a random one when the
// store has none. Concurrent callers agree on the first one written.
func EnsureClusterID(ctx context.Context, st cluster.Store) (string, error) {
	for {
		kv, err := st.Get(ctx, ClusterIDKey)
		if err == nil {
			return string(kv.Value), nil
		}
		if !errors.Is(err, cluster.ErrNotFound) {
			return "", fmt.Errorf("metadata: read cluster id: %w", err)
		}
		id, err := newTopicID()
		if err != nil {
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
