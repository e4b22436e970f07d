package console

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/sluice-mq/sluice/client"
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

// configEntry is one effective topic config.
type configEntry struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	// Source is "topic" for an override, "default" for the node's default.
	Source string `json:"source"`
}

// topicDetail is a topic's description with its effective configs.
type topicDetail struct {
	client.TopicDescription
	Effective []configEntry `json:"effective_configs"`
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
	return topicDetail{TopicDescription: d, Effective: c.effective(d.Configs)}, nil
}

// effective merges a topic's overrides over the node's defaults.
func (c *Console) effective(overrides map[string]string) []configEntry {
	all := maps.Clone(c.cfg.TopicDefaults)
	if all == nil {
		all = map[string]string{}
	}
	maps.Copy(all, overrides)
	out := make([]configEntry, 0, len(all))
	for _, name := range slices.Sorted(maps.Keys(all)) {
		src := "default"
		if _, ok := overrides[name]; ok {
			src = "topic"
		}
		out = append(out, configEntry{Name: name, Value: all[name], Source: src})
	}
	return out
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
	if err := c.knownConfigs(req.Configs); err != nil {
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
	if err := c.knownConfigs(req.Set); err != nil {
		return nil, err
	}
	for _, k := range req.Delete {
		if err := c.knownConfigs(map[string]string{k: ""}); err != nil {
			return nil, err
		}
	}
	overrides, err := cl.AlterConfigs(ctx, name, req.Set, req.Delete)
	if err != nil {
		return nil, err
	}
	return map[string]any{"configs": overrides, "effective_configs": c.effective(overrides)}, nil
}

// knownConfigs refuses config names the node has no default for: the
// names of every topic config it knows.
func (c *Console) knownConfigs(cfgs map[string]string) error {
	if c.cfg.TopicDefaults == nil {
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(cfgs)) {
		if _, ok := c.cfg.TopicDefaults[k]; !ok {
			return badRequest("config %q: not a topic config (known: %v)", k, slices.Sorted(maps.Keys(c.cfg.TopicDefaults)))
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
