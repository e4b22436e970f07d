package metadata

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-mq/sluice/cluster"
)

// ShuttingDownPrefix holds one record per node in controlled shutdown
// (Kafka's ControlledShutdown), keyed by node id. The node writes it when
// it is told to stop and removes it when it starts again. While a live
// member has one, the controller moves its leaderships to other in-sync
// replicas, drops it from the ISRs that have another member, elects it
// nowhere and places no new replica on it; leaders add it to no ISR.
const ShuttingDownPrefix = "shutting-down/"

// NodeShutdown is a node's record of its controlled shutdown.
type NodeShutdown struct {
	NodeID int32 `json:"node_id"`
	// SinceMs is when the shutdown began, Unix milliseconds.
	SinceMs int64 `json:"since_ms"`
}

// ShuttingDownKey returns the store key of a node's shutdown record.
func ShuttingDownKey(node int32) string { return ShuttingDownPrefix + strconv.Itoa(int(node)) }

// PutShuttingDown records that node is shutting down, replacing an
// earlier record.
func PutShuttingDown(ctx context.Context, st cluster.Store, node int32, since time.Time) error {
	value, err := json.Marshal(NodeShutdown{NodeID: node, SinceMs: since.UnixMilli()})
	if err != nil {
		return fmt.Errorf("metadata: encode shutdown of node %d: %w", node, err)
	}
	key := ShuttingDownKey(node)
	if err := replace(ctx, st, key, value); err != nil {
		return fmt.Errorf("metadata: record shutdown of node %d: %w", node, err)
	}
	return nil
}

// ClearShuttingDown removes node's shutdown record (absent is fine: a
// Delete at version 0 of a missing key succeeds).
func ClearShuttingDown(ctx context.Context, st cluster.Store, node int32) error {
	if err := st.Delete(ctx, ShuttingDownKey(node), 0); err != nil {
		return fmt.Errorf("metadata: clear shutdown of node %d: %w", node, err)
	}
	return nil
}

// ShuttingDownNodes returns the nodes with a shutdown record. A record
// that does not decode still counts: only its node writes under its key.
func ShuttingDownNodes(ctx context.Context, st cluster.Store) (map[int32]bool, error) {
	return NodesUnder(ctx, st, ShuttingDownPrefix)
}

// NodesUnder returns the nodes that have a record under prefix, a key
// prefix+<node id> each (shutdown and decommission records).
func NodesUnder(ctx context.Context, st cluster.Store, prefix string) (map[int32]bool, error) {
	kvs, _, err := st.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("metadata: list %s: %w", prefix, err)
	}
	out := make(map[int32]bool, len(kvs))
	for _, kv := range kvs {
		addNode(out, kv, prefix)
	}
	return out, nil
}

// addNode adds the node of record kv, a key prefix+<node id>, to m.
func addNode(m map[int32]bool, kv cluster.KV, prefix string) {
	id, err := strconv.ParseInt(strings.TrimPrefix(kv.Key, prefix), 10, 32)
	if err != nil {
		return // not a node's record
	}
	m[int32(id)] = true
}
