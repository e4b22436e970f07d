package admin

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
)

func TestParseDatetime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2026-01-02T15:04:05Z":           time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC),
		"2026-01-02T15:04:05.250Z":       time.Date(2026, 1, 2, 15, 4, 5, 250e6, time.UTC),
		"2026-01-02T15:04:05+01:00":      time.Date(2026, 1, 2, 14, 4, 5, 0, time.UTC),
		"2026-01-02T15:04:05":            time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC),
		"2026-01-02T15:04":               time.Date(2026, 1, 2, 15, 4, 0, 0, time.UTC),
		"2026-01-02":                     time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
		"2026-01-02T15:04:05.123456789Z": time.Date(2026, 1, 2, 15, 4, 5, 123456789, time.UTC),
	} {
		got, err := ParseDatetime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseDatetime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"02/01/2026", "", "yesterday", "2026-13-01", "1700000000000"} {
		if got, err := ParseDatetime(bad); err == nil {
			t.Errorf("ParseDatetime(%q) = %v, want an error", bad, got)
		}
	}
}

func TestSummarizeTopics(t *testing.T) {
	topics := []client.TopicInfo{
		{Name: "orders", Partitions: []client.PartitionInfo{
			{Partition: 0, Leader: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}},
			{Partition: 1, Leader: 2, Replicas: []int32{2, 3, 1}, ISR: []int32{2}},
			{Partition: 2, Leader: -1, Replicas: []int32{3, 1, 2, 4}, ISR: []int32{}},
		}},
		{Name: "__consumer_offsets", Internal: true, Partitions: []client.PartitionInfo{
			{Partition: 0, Leader: 1, Replicas: []int32{1}, ISR: []int32{1}},
		}},
		{Name: "broken", Err: errors.New("UNKNOWN_TOPIC_OR_PARTITION")},
	}
	want := []TopicSummary{
		{Name: "__consumer_offsets", Partitions: 1, ReplicationFactor: 1, Internal: true},
		{Name: "broken", Error: "UNKNOWN_TOPIC_OR_PARTITION"},
		{Name: "orders", Partitions: 3, ReplicationFactor: 4, UnderReplicated: 2, Offline: 1},
	}
	if got := SummarizeTopics(topics); !reflect.DeepEqual(got, want) {
		t.Errorf("SummarizeTopics:\n got %+v\nwant %+v", got, want)
	}
	if got := SummarizeTopics(nil); got == nil || len(got) != 0 {
		t.Errorf("SummarizeTopics(nil) = %#v, want an empty list (JSON [])", got)
	}
}
