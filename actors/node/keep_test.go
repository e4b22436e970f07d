package node

import (
	"testing"

	"github.com/sluice-mq/sluice/cluster/metadata"
)

func TestNodeDeletionRecorded(t *testing.T) {
	tp := metadata.TopicPartition{Topic: "orders", Partition: 0}
	moved := metadata.Topic{Name: "orders", ID: "a", Replicas: [][]int32{{2, 3}}}
	tests := []struct {
		name string
		snap metadata.Snapshot
		id   string
		want bool
	}{
		{"topic missing, no record", metadata.Snapshot{}, "a", false},
		{"delete recorded", metadata.Snapshot{DeletedTopics: map[string]metadata.DeletedTopic{"a": {Name: "orders", ID: "a"}}}, "a", true},
		{"other incarnation deleted", metadata.Snapshot{DeletedTopics: map[string]metadata.DeletedTopic{"b": {Name: "orders", ID: "b"}}}, "a", false},
		{"moved away, same id", metadata.Snapshot{Topics: map[string]metadata.Topic{"orders": moved}}, "a", true},
		{"recreated, old delete not recorded", metadata.Snapshot{Topics: map[string]metadata.Topic{"orders": moved}}, "old", false},
		{"unknown id", metadata.Snapshot{Topics: map[string]metadata.Topic{"orders": {Name: "orders"}}}, "", false},
	}
	for _, tt := range tests {
		if got := deletionRecorded(tt.snap, tp, tt.id); got != tt.want {
			t.Errorf("%s: deletionRecorded = %v, want %v", tt.name, got, tt.want)
		}
	}
}
