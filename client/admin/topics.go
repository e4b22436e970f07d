package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/messages"
)

// TopicSummary is one topic's line of a topic listing.
type TopicSummary struct {
	Name       string `json:"name"`
	Partitions int    `json:"partitions"`
	// ReplicationFactor is the size of the largest replica set (a
	// reassignment in progress shows its added replicas).
	ReplicationFactor int `json:"replication_factor"`
	// UnderReplicated counts partitions with fewer in-sync replicas than
	// replicas, Offline those without a leader.
	UnderReplicated int    `json:"under_replicated"`
	Offline         int    `json:"offline"`
	Internal        bool   `json:"internal"`
	Error           string `json:"error,omitempty"`
}

// SummarizeTopics returns a summary of each topic, sorted by name.
func SummarizeTopics(topics []client.TopicInfo) []TopicSummary {
	out := make([]TopicSummary, 0, len(topics))
	for _, t := range topics {
		s := TopicSummary{Name: t.Name, Partitions: len(t.Partitions), Internal: t.Internal}
		if t.Err != nil {
			s.Error = t.Err.Error()
		}
		for _, p := range t.Partitions {
			s.ReplicationFactor = max(s.ReplicationFactor, len(p.Replicas))
			if len(p.ISR) < len(p.Replicas) {
				s.UnderReplicated++
			}
			if p.Leader < 0 {
				s.Offline++
			}
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b TopicSummary) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// TopicPartitions returns the partitions of topic named in want, each once
// and in the order first named, or every partition of the topic when want
// is empty. An unknown topic, or a partition the topic does not have, is an
// UNKNOWN_TOPIC_OR_PARTITION error naming it.
func TopicPartitions(ctx context.Context, c *client.Client, topic string, want []int32) ([]client.TopicPartition, error) {
	topics, err := c.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(topics, func(t client.TopicInfo) bool { return t.Name == topic })
	if i < 0 {
		return nil, fmt.Errorf("topic %q: %w", topic, messages.ErrorForCode(
			messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "topic does not exist"))
	}
	parts := topics[i].Partitions
	if len(want) == 0 {
		tps := make([]client.TopicPartition, len(parts))
		for j, p := range parts {
			tps[j] = client.TopicPartition{Topic: topic, Partition: p.Partition}
		}
		return tps, nil
	}
	var tps []client.TopicPartition
	for _, p := range want {
		if !slices.ContainsFunc(parts, func(q client.PartitionInfo) bool { return q.Partition == p }) {
			return nil, fmt.Errorf("%s/%d: %w", topic, p, messages.ErrorForCode(
				messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, fmt.Sprintf("topic has %d partitions", len(parts))))
		}
		tp := client.TopicPartition{Topic: topic, Partition: p}
		if !slices.Contains(tps, tp) {
			tps = append(tps, tp)
		}
	}
	return tps, nil
}

// datetimeLayouts are the forms ParseDatetime accepts.
var datetimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"}

// ParseDatetime reads a point in time: RFC 3339, or its date and time
// without seconds' fraction, seconds or zone (a missing zone is UTC), or a
// date alone (its midnight, UTC).
func ParseDatetime(s string) (time.Time, error) {
	for _, layout := range datetimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("want RFC 3339, e.g. 2026-01-02T15:04:05Z (zone, seconds and time optional)")
}
