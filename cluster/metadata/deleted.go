package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/sluice-mq/sluice/cluster"
)

// DeletedTopicsPrefix holds one record per deleted topic incarnation,
// keyed by topic id: the recorded delete that lets nodes remove a
// replica's data. A topic missing from the metadata without such a record
// is not deleted data: nodes keep its directories.
const DeletedTopicsPrefix = "deleted-topics/"

// MaxDeletedTopics bounds the delete records kept; the oldest are dropped
// beyond it. A node down for longer than that many deletes keeps the
// dropped topics' directories (and reports them) rather than deleting them.
const MaxDeletedTopics = 1000

// DeletedTopic records the delete of one topic incarnation.
type DeletedTopic struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	// DeletedAtMs is the wall time of the delete, Unix milliseconds.
	DeletedAtMs int64 `json:"deleted_at_ms"`
}

// DeletedTopicKey returns the store key of a delete record.
func DeletedTopicKey(id string) string { return DeletedTopicsPrefix + id }

func decodeDeletedTopic(kv cluster.KV) (DeletedTopic, error) {
	var d DeletedTopic
	if err := json.Unmarshal(kv.Value, &d); err != nil {
		return DeletedTopic{}, fmt.Errorf("%w: %s: %v", ErrMalformed, kv.Key, err)
	}
	if d.ID != strings.TrimPrefix(kv.Key, DeletedTopicsPrefix) {
		return DeletedTopic{}, fmt.Errorf("%w: %s: holds topic id %q", ErrMalformed, kv.Key, d.ID)
	}
	return d, nil
}

// recordDelete writes the delete record of t, then drops the oldest
// records beyond MaxDeletedTopics.
func recordDelete(ctx context.Context, st cluster.Store, t Topic) error {
	value, err := json.Marshal(DeletedTopic{Name: t.Name, ID: t.ID, DeletedAtMs: time.Now().UnixMilli()})
	if err != nil {
		return fmt.Errorf("metadata: encode delete record of %q: %w", t.Name, err)
	}
	if _, err := st.CAS(ctx, DeletedTopicKey(t.ID), value, 0); err != nil && !errors.Is(err, cluster.ErrVersionMismatch) {
		return fmt.Errorf("metadata: record delete of %q: %w", t.Name, err)
	}
	kvs, _, err := st.List(ctx, DeletedTopicsPrefix)
	if err != nil || len(kvs) <= MaxDeletedTopics {
		return nil // pruning is best effort; the next delete retries it
	}
	// Store versions grow with every write: the lowest are the oldest.
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].Version < kvs[j].Version })
	for _, kv := range kvs[:len(kvs)-MaxDeletedTopics] {
		_ = st.Delete(ctx, kv.Key, kv.Version) // best effort, see above
	}
	return nil
}
