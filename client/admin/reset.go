package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-mq/sluice/client"
)

// ErrGroupActive matches the error of a reset of a group that has
// members: offsets of a live group are its consumers' to commit.
var ErrGroupActive = errors.New("admin: group has members")

// ActiveGroupError names the group a reset was refused for.
type ActiveGroupError struct {
	Group   string
	State   string
	Members int
}

func (e *ActiveGroupError) Error() string {
	noun := "members"
	if e.Members == 1 {
		noun = "member"
	}
	return fmt.Sprintf("group %s is %s with %d %s: stop its consumers before resetting offsets", e.Group, e.State, e.Members, noun)
}

// Is makes errors.Is(err, ErrGroupActive) hold.
func (e *ActiveGroupError) Is(target error) bool { return target == ErrGroupActive }

// ResetTarget is where a reset moves each partition's committed offset.
type ResetTarget int

// The targets of kafka-consumer-groups --reset-offsets.
const (
	ToEarliest ResetTarget = iota
	ToLatest
	ToOffset
	ToDatetime
	ShiftBy
)

// ResetSpec is one reset: the target and its argument.
type ResetSpec struct {
	Target ResetTarget
	Offset int64     // ToOffset
	Time   time.Time // ToDatetime
	Shift  int64     // ShiftBy; negative moves back
}

// ResetMove is one partition's move.
type ResetMove struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Previous  int64  `json:"previous_offset"` // -1 without a commit
	New       int64  `json:"new_offset"`
}

// PlanReset computes where spec moves the group's committed offset of each
// of tps, kept within each partition's log (log start to log end). The
// group must have no members.
func PlanReset(ctx context.Context, c *client.Client, group string, tps []client.TopicPartition, spec ResetSpec) ([]ResetMove, error) {
	d, err := c.DescribeGroup(ctx, group)
	if err != nil {
		return nil, err
	}
	if d.State != "Empty" && d.State != "Dead" {
		return nil, &ActiveGroupError{Group: group, State: d.State, Members: len(d.Members)}
	}
	committed, err := c.CommittedOffsets(ctx, group, tps...)
	if err != nil {
		return nil, err
	}
	plan := make([]ResetMove, 0, len(tps))
	for _, tp := range tps {
		start, _, err := c.ListOffsets(ctx, tp.Topic, tp.Partition, client.EarliestTimestamp)
		if err != nil {
			return nil, err
		}
		end, _, err := c.ListOffsets(ctx, tp.Topic, tp.Partition, client.LatestTimestamp)
		if err != nil {
			return nil, err
		}
		prev := int64(-1)
		if o, ok := committed[tp]; ok {
			prev = o.Offset
		}
		var target int64
		switch spec.Target {
		case ToEarliest:
			target = start
		case ToLatest:
			target = end
		case ToOffset:
			target = spec.Offset
		case ToDatetime:
			off, _, err := c.ListOffsets(ctx, tp.Topic, tp.Partition, spec.Time.UnixMilli())
			if err != nil {
				return nil, err
			}
			target = off
			if off < 0 {
				target = end
			}
		case ShiftBy:
			base := prev
			if base < 0 {
				base = end
			}
			target = base + spec.Shift
		default:
			return nil, fmt.Errorf("admin: unknown reset target %d", spec.Target)
		}
		target = min(max(target, start), end)
		plan = append(plan, ResetMove{Topic: tp.Topic, Partition: tp.Partition, Previous: prev, New: target})
	}
	return plan, nil
}

// ApplyReset commits the plan's new offsets for the group.
func ApplyReset(ctx context.Context, c *client.Client, group string, plan []ResetMove) error {
	offsets := make(map[client.TopicPartition]int64, len(plan))
	for _, m := range plan {
		offsets[client.TopicPartition{Topic: m.Topic, Partition: m.Partition}] = m.New
	}
	return c.CommitGroupOffsets(ctx, group, offsets)
}
