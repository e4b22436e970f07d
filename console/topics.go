package console

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/client/admin"
	"github.com/sluice-mq/sluice/cluster/metadata"
)

// Bounds of topic creation from the console; the controller applies the
// node's own limits too.
const (
	maxCreatePartitions = 10000
	maxReplication      = 16
)

// topicRow is one topic of the topic list.
type topicRow struct {
	Name              string `json:"name"`
	Partitions        int    `json:"partitions"`
	ReplicationFactor int    `json:"replication_factor"`
	UnderReplicated   int    `json:"under_replicated"`
	Offline           int    `json:"offline"`
	Internal          bool   `json:"internal"`
	Error             string `json:"error,omitempty"`
}

func (c *Console) listTopics(ctx context.Context, cl *client.Client, r *http.Request) (any, error) {
	internal := r.URL.Query().Get("internal") == "true"
	topics, err := cl.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	rows := []topicRow{}
	for _, t := range topics {
		if t.Internal && !internal {
			continue
		}
		row := topicRow{Name: t.Name, Partitions: len(t.Partitions), Internal: t.Internal}
		if t.Err != nil {
			row.Error = t.Err.Error()
		}
		for _, p := range t.Partitions {
			row.ReplicationFactor = max(row.ReplicationFactor, len(p.Replicas))
			if len(p.ISR) < len(p.Replicas) {
				row.UnderReplicated++
			}
			if p.Leader < 0 {
				row.Offline++
			}
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b topicRow) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return rows, nil
}

// topicDetail is a topic's description with its effective configs, as
// `sluice topic describe -o json` prints it.
type topicDetail struct {
	client.TopicDescription
	Effective []admin.ConfigEntry `json:"effective_configs"`
}

func (c *Console) getTopic(ctx context.Context, cl *client.Client, r *http.Request) (any, error) {
	name := r.PathValue("topic")
	if err := client.ValidateTopicName(name); err != nil {
		return nil, err
	}
	d, err := cl.DescribeTopic(ctx, name)
	if err != nil {
		return nil, err
	}
	return topicDetail{TopicDescription: d, Effective: admin.EffectiveConfigs(d)}, nil
}

type createRequest struct {
	Name              string            `json:"name"`
	Partitions        int32             `json:"partitions"`
	ReplicationFactor int32             `json:"replication_factor"`
	Configs           map[string]string `json:"configs"`
}

func (c *Console) createTopic(ctx context.Context, cl *client.Client, r *http.Request) (any, error) {
	var req createRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, badRequest("name: required")
	}
	if err := client.ValidateTopicName(req.Name); err != nil {
		return nil, fmt.Errorf("%w: %w", errBadRequest, err)
	}
	if req.Partitions < 1 || req.Partitions > maxCreatePartitions {
		return nil, badRequest("partitions %d: want 1 to %d", req.Partitions, maxCreatePartitions)
	}
	if req.ReplicationFactor == 0 {
		req.ReplicationFactor = 1
	}
	if req.ReplicationFactor < 1 || req.ReplicationFactor > maxReplication {
		return nil, badRequest("replication_factor %d: want 1 to %d", req.ReplicationFactor, maxReplication)
	}
	if err := knownConfigs(req.Configs); err != nil {
		return nil, err
	}
	return cl.CreateTopic(ctx, req.Name, req.Partitions, req.ReplicationFactor, req.Configs)
}

type alterRequest struct {
	Set    map[string]string `json:"set"`
	Delete []string          `json:"delete"`
}

func (c *Console) alterConfigs(ctx context.Context, cl *client.Client, r *http.Request) (any, error) {
	name := r.PathValue("topic")
	var req alterRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if len(req.Set) == 0 && len(req.Delete) == 0 {
		return nil, badRequest("set and delete are both empty: nothing to change")
	}
	if err := knownConfigs(req.Set); err != nil {
		return nil, err
	}
	for _, k := range req.Delete {
		if err := knownConfigs(map[string]string{k: ""}); err != nil {
			return nil, err
		}
	}
	overrides, err := cl.AlterConfigs(ctx, name, req.Set, req.Delete)
	if err != nil {
		return nil, err
	}
	return map[string]any{"configs": overrides}, nil
}

// knownConfigs refuses names that are not topic configs.
func knownConfigs(cfgs map[string]string) error {
	names := metadata.ConfigNames()
	for _, k := range slices.Sorted(maps.Keys(cfgs)) {
		if !slices.Contains(names, k) {
			return badRequest("config %q: not a topic config (known: %s)", k, strings.Join(names, ", "))
		}
	}
	return nil
}

func (c *Console) deleteTopic(ctx context.Context, cl *client.Client, r *http.Request) (any, error) {
	name := r.PathValue("topic")
	if confirm := r.URL.Query().Get("confirm"); confirm != name {
		return nil, badRequest("confirm %q: repeat the topic's name %q to delete it", confirm, name)
	}
	if err := cl.DeleteTopic(ctx, name); err != nil {
		return nil, err
	}
	return map[string]string{"deleted": name}, nil
}
