package console

import (
	"context"
	"net/http"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/client/admin"
)

// maxResetPartitions bounds the partitions one reset names.
const maxResetPartitions = 10000

func (c *Console) listGroups(ctx context.Context, cl *client.Client, _ *http.Request) (any, error) {
	groups, err := cl.ListGroups(ctx)
	if err != nil {
		return nil, err
	}
	if groups == nil {
		groups = []client.GroupListing{}
	}
	return groups, nil
}

func (c *Console) getGroup(ctx context.Context, cl *client.Client, r *http.Request) (any, error) {
	group := r.PathValue("group")
	if group == "" {
		return nil, badRequest("group: required")
	}
	return admin.DescribeGroup(ctx, cl, group)
}

// resetRequest is a reset of a group's offsets on one topic, as
// kafka-consumer-groups --reset-offsets: exactly one target.
type resetRequest struct {
	Topic string `json:"topic"`
	// Partitions to reset; empty means all of the topic's.
	Partitions []int32 `json:"partitions"`
	// To is earliest, latest, offset, datetime or shift.
	To       string `json:"to"`
	Offset   int64  `json:"offset"`
	Datetime string `json:"datetime"` // RFC 3339, for to=datetime
	Shift    int64  `json:"shift"`
	// Execute commits the plan; without it the answer is only the plan.
	Execute bool `json:"execute"`
}

type resetAnswer struct {
	Group    string            `json:"group"`
	Executed bool              `json:"executed"`
	Plan     []admin.ResetMove `json:"plan"`
}

func (c *Console) resetOffsets(ctx context.Context, cl *client.Client, r *http.Request) (any, error) {
	group := r.PathValue("group")
	var req resetRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	spec, err := req.spec()
	if err != nil {
		return nil, err
	}
	if req.Topic == "" {
		return nil, badRequest("topic: required")
	}
	if err := client.ValidateTopicName(req.Topic); err != nil {
		return nil, badRequest("topic: %v", err)
	}
	tps, err := resetPartitions(ctx, cl, req.Topic, req.Partitions)
	if err != nil {
		return nil, err
	}
	plan, err := admin.PlanReset(ctx, cl, group, tps, spec)
	if err != nil {
		return nil, err
	}
	if req.Execute {
		if err := admin.ApplyReset(ctx, cl, group, plan); err != nil {
			return nil, err
		}
	}
	return resetAnswer{Group: group, Executed: req.Execute, Plan: plan}, nil
}

// spec is the reset target the request names.
func (req resetRequest) spec() (admin.ResetSpec, error) {
	switch req.To {
	case "earliest":
		return admin.ResetSpec{Target: admin.ToEarliest}, nil
	case "latest":
		return admin.ResetSpec{Target: admin.ToLatest}, nil
	case "offset":
		if req.Offset < 0 {
			return admin.ResetSpec{}, badRequest("offset %d: want >= 0", req.Offset)
		}
		return admin.ResetSpec{Target: admin.ToOffset, Offset: req.Offset}, nil
	case "datetime":
		t, err := time.Parse(time.RFC3339Nano, req.Datetime)
		if err != nil {
			return admin.ResetSpec{}, badRequest("datetime %q: want RFC 3339, e.g. 2026-01-02T15:04:05Z", req.Datetime)
		}
		return admin.ResetSpec{Target: admin.ToDatetime, Time: t}, nil
	case "shift":
		return admin.ResetSpec{Target: admin.ShiftBy, Shift: req.Shift}, nil
	}
	return admin.ResetSpec{}, badRequest("to %q: want earliest, latest, offset, datetime or shift", req.To)
}

// resetPartitions are the named partitions of topic, or all of them.
func resetPartitions(ctx context.Context, cl *client.Client, topic string, want []int32) ([]client.TopicPartition, error) {
	topics, err := cl.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	count := -1
	for _, t := range topics {
		if t.Name == topic {
			count = len(t.Partitions)
		}
	}
	if count < 0 {
		return nil, badRequest("topic %q: no such topic", topic)
	}
	if len(want) > maxResetPartitions {
		return nil, badRequest("partitions: %d named, at most %d", len(want), maxResetPartitions)
	}
	var tps []client.TopicPartition
	if len(want) == 0 {
		for p := range count {
			tps = append(tps, client.TopicPartition{Topic: topic, Partition: int32(p)})
		}
		return tps, nil
	}
	seen := map[int32]bool{}
	for _, p := range want {
		if p < 0 || int(p) >= count {
			return nil, badRequest("partitions: %d is not one of topic %q's %d", p, topic, count)
		}
		if !seen[p] {
			seen[p] = true
			tps = append(tps, client.TopicPartition{Topic: topic, Partition: p})
		}
	}
	return tps, nil
}
