package console

import (
	"context"
	"net/http"

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
		t, err := admin.ParseDatetime(req.Datetime)
		if err != nil {
			return admin.ResetSpec{}, badRequest("datetime %q: %v", req.Datetime, err)
		}
		return admin.ResetSpec{Target: admin.ToDatetime, Time: t}, nil
	case "shift":
		return admin.ResetSpec{Target: admin.ShiftBy, Shift: req.Shift}, nil
	}
	return admin.ResetSpec{}, badRequest("to %q: want earliest, latest, offset, datetime or shift", req.To)
}

// resetPartitions are the named partitions of topic, or all of them.
func resetPartitions(ctx context.Context, cl *client.Client, topic string, want []int32) ([]client.TopicPartition, error) {
	if len(want) > maxResetPartitions {
		return nil, badRequest("partitions: %d named, at most %d", len(want), maxResetPartitions)
	}
	return admin.TopicPartitions(ctx, cl, topic, want)
}
