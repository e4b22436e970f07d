package console

import (
	"context"
	"net/http"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/client/admin"
)

// clusterView is the cluster page: the summary `sluice cluster status`
// prints and every live node's registration and log dirs.
type clusterView struct {
	admin.Summary
	// HiddenInternal counts the internal topics left out of the counts
	// (all are counted with ?internal=true).
	HiddenInternal int                      `json:"hidden_internal_topics"`
	Registration   []admin.NodeRegistration `json:"registration"`
}

func (c *Console) getCluster(ctx context.Context, cl *client.Client, r *http.Request) (any, error) {
	m, err := cl.Metadata(ctx)
	if err != nil {
		return nil, err
	}
	hidden := 0
	if r.URL.Query().Get("internal") != "true" {
		m.Topics, hidden = admin.WithoutInternal(m.Topics)
	}
	return clusterView{Summary: admin.Summarize(m), HiddenInternal: hidden, Registration: admin.Registrations(ctx, m)}, nil
}

// reassignment is one partition move under way.
type reassignment struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Target    []int32 `json:"target"`
	Replicas  []int32 `json:"replicas"`
	Adding    []int32 `json:"adding"`
	Removing  []int32 `json:"removing"`
	ISR       []int32 `json:"isr"`
}

func (c *Console) listReassignments(ctx context.Context, cl *client.Client, _ *http.Request) (any, error) {
	list, err := cl.ListReassignments(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]reassignment, 0, len(list))
	for _, r := range list {
		out = append(out, reassignment{Topic: r.Topic, Partition: r.Partition, Target: r.Target, Replicas: r.Replicas,
			Adding: r.Adding, Removing: r.Removing, ISR: r.ISR})
	}
	return out, nil
}

type reassignRequest struct {
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	Replicas  []int32 `json:"replicas"`
}

// reassign starts moving one partition to a new replica list.
func (c *Console) reassign(ctx context.Context, cl *client.Client, r *http.Request) (any, error) {
	var req reassignRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if err := client.ValidateTopicName(req.Topic); err != nil {
		return nil, badRequest("topic: %v", err)
	}
	if req.Partition < 0 {
		return nil, badRequest("partition %d: want >= 0", req.Partition)
	}
	if len(req.Replicas) == 0 || len(req.Replicas) > maxReplication {
		return nil, badRequest("replicas: %d given, want 1 to %d node ids", len(req.Replicas), maxReplication)
	}
	seen := map[int32]bool{}
	for _, id := range req.Replicas {
		if seen[id] {
			return nil, badRequest("replicas: node %d named twice", id)
		}
		seen[id] = true
	}
	if err := cl.ReassignPartition(ctx, req.Topic, req.Partition, req.Replicas); err != nil {
		return nil, err
	}
	return map[string]any{"started": req}, nil
}
