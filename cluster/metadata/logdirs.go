package metadata

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluice-mq/sluice/cluster"
)

// LogDirsPrefix holds one record per node whose log directory failed
// (Kafka's offline log dirs, KIP-112), keyed by node id. The node writes
// it when a write, fsync or rename in its data dir fails and removes it
// when it starts again; the controller treats the replicas of a node with
// an offline dir like those of a dead node.
const LogDirsPrefix = "log-dirs/"

// NodeLogDirs is a node's record of its offline log directories.
type NodeLogDirs struct {
	NodeID  int32        `json:"node_id"`
	Offline []OfflineDir `json:"offline"`
}

// OfflineDir is one failed log directory.
type OfflineDir struct {
	Dir string `json:"dir"`
	// Error is the failure that took it offline.
	Error string `json:"error"`
	// SinceMs is when it went offline, Unix milliseconds.
	SinceMs int64 `json:"since_ms"`
}

// LogDirsKey returns the store key of a node's log dir record.
func LogDirsKey(node int32) string { return LogDirsPrefix + strconv.Itoa(int(node)) }

func decodeLogDirs(kv cluster.KV) (NodeLogDirs, error) {
	var d NodeLogDirs
	if err := json.Unmarshal(kv.Value, &d); err != nil {
		return NodeLogDirs{}, fmt.Errorf("%w: %s: %v", ErrMalformed, kv.Key, err)
	}
	if LogDirsKey(d.NodeID) != kv.Key {
		return NodeLogDirs{}, fmt.Errorf("%w: %s: holds node %d", ErrMalformed, kv.Key, d.NodeID)
	}
	return d, nil
}

// PutLogDirs records d (its offline dirs) for d.NodeID, replacing what
// was recorded.
func PutLogDirs(ctx context.Context, st cluster.Store, d NodeLogDirs) error {
	value, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("metadata: encode log dirs of node %d: %w", d.NodeID, err)
	}
	key := LogDirsKey(d.NodeID)
	if err := replace(ctx, st, key, value); err != nil {
		return fmt.Errorf("metadata: record log dirs of node %d: %w", d.NodeID, err)
	}
	return nil
}

// ClearLogDirs removes node's record: its log dirs are online again.
func ClearLogDirs(ctx context.Context, st cluster.Store, node int32) error {
	if err := st.Delete(ctx, LogDirsKey(node), 0); err != nil {
		return fmt.Errorf("metadata: clear log dirs of node %d: %w", node, err)
	}
	return nil
}

// OfflineLogDirs lists the nodes with an offline log dir. A record that
// does not decode counts as offline too: its node wrote it on a failure.
func OfflineLogDirs(ctx context.Context, st cluster.Store) (map[int32]NodeLogDirs, error) {
	kvs, _, err := st.List(ctx, LogDirsPrefix)
	if err != nil {
		return nil, fmt.Errorf("metadata: list log dirs: %w", err)
	}
	out := make(map[int32]NodeLogDirs, len(kvs))
	for _, kv := range kvs {
		addLogDirs(out, kv)
	}
	return out, nil
}

// addLogDirs adds the record kv to m if it names an offline dir.
func addLogDirs(m map[int32]NodeLogDirs, kv cluster.KV) {
	d, err := decodeLogDirs(kv)
	if err != nil {
		id, perr := strconv.ParseInt(strings.TrimPrefix(kv.Key, LogDirsPrefix), 10, 32)
		if perr != nil {
			return // not a node's record
		}
		d = NodeLogDirs{NodeID: int32(id), Offline: []OfflineDir{{Error: err.Error()}}}
	}
	if len(d.Offline) > 0 {
		m[d.NodeID] = d
	}
}
