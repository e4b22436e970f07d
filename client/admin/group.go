package admin

import (
	"context"
	"slices"
	"strings"

	"github.com/sluice-mq/sluice/client"
)

// PartitionLag is one partition of a described group.
type PartitionLag struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Committed is -1 without a committed offset; Lag then counts from
	// the log start.
	Committed    int64  `json:"committed_offset"`
	LogEndOffset int64  `json:"log_end_offset"`
	Lag          int64  `json:"lag"`
	MemberID     string `json:"member_id,omitempty"`
	ClientID     string `json:"client_id,omitempty"`
	Host         string `json:"host,omitempty"`
}

// GroupReport is a group's description with the lag of every partition
// it owns or committed.
type GroupReport struct {
	client.GroupDescription
	Partitions []PartitionLag `json:"partitions"`
}

// DescribeGroup joins the group's description, its committed offsets and
// the log end of every partition it owns or committed.
func DescribeGroup(ctx context.Context, c *client.Client, group string) (GroupReport, error) {
	d, err := c.DescribeGroup(ctx, group)
	if err != nil {
		return GroupReport{}, err
	}
	committed, err := c.CommittedOffsets(ctx, group)
	if err != nil {
		return GroupReport{}, err
	}
	owner := map[client.TopicPartition]client.GroupMember{}
	var tps []client.TopicPartition
	for _, m := range d.Members {
		for _, tp := range m.Assignment {
			owner[tp] = m
			tps = append(tps, tp)
		}
	}
	for tp := range committed {
		if _, ok := owner[tp]; !ok {
			tps = append(tps, tp)
		}
	}
	slices.SortFunc(tps, func(x, y client.TopicPartition) int {
		if c := strings.Compare(x.Topic, y.Topic); c != 0 {
			return c
		}
		return int(x.Partition - y.Partition)
	})
	r := GroupReport{GroupDescription: d, Partitions: []PartitionLag{}}
	for _, tp := range tps {
		p := PartitionLag{Topic: tp.Topic, Partition: tp.Partition, Committed: -1}
		if o, ok := committed[tp]; ok {
			p.Committed = o.Offset
		}
		end, _, err := c.ListOffsets(ctx, tp.Topic, tp.Partition, client.LatestTimestamp)
		if err != nil {
			return GroupReport{}, err
		}
		p.LogEndOffset = end
		from := p.Committed
		if from < 0 {
			if from, _, err = c.ListOffsets(ctx, tp.Topic, tp.Partition, client.EarliestTimestamp); err != nil {
				return GroupReport{}, err
			}
		}
		p.Lag = max(end-from, 0)
		if m, ok := owner[tp]; ok {
			p.MemberID, p.ClientID, p.Host = m.MemberID, m.ClientID, m.ClientHost
		}
		r.Partitions = append(r.Partitions, p)
	}
	return r, nil
}
