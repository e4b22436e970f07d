package console

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/client/admin"
)

// Bounds of topic creation from the console; the controller applies the
// node's own limits too.
const (
	maxCreatePartitions = 10000
	maxReplication      = 16
)

func (c *Console) listTopics(ctx context.Context, cl *client.Client, r *http.Request) (any, error) {
	topics, err := cl.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	if r.URL.Query().Get("internal") != "true" {
		topics, _ = admin.WithoutInternal(topics)
	}
	return admin.SummarizeTopics(topics), nil
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
	// Config names and values are checked by the controller
	// (INVALID_CONFIG naming the config, answered 400).
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
	overrides, err := cl.AlterConfigs(ctx, name, req.Set, req.Delete)
	if err != nil {
		return nil, err
	}
	return map[string]any{"configs": overrides}, nil
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
