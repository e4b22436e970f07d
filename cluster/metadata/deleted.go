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
	type rec struct {
		kv cluster.KV
		at int64
	}
	recs := make([]rec, 0, len(kvs))
	for _, kv := range kvs {
		d, err := decodeDeletedTopic(kv)
		if err != nil {
			continue
		}
		recs = append(recs, rec{kv: kv, at: d.DeletedAtMs})
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].at < recs[j].at })
	for _, r := range recs[:max(0, len(recs)-MaxDeletedTopics)] {
		_ = st.Delete(ctx, r.kv.Key, r.kv.Version) // best effort, see above
	}
	return nil
}
