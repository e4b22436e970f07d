package node

import (
	"testing"
	"unsafe"

	"github.com/sluice-mq/sluice/cluster/metadata"
)

// TestDesiredReplicasReuseTopicRecords: a topic at the same store version
// keeps its record and key (not encoded again), a new version with the
// same definition keeps the key string, a changed definition gets a new
// key, and a topic gone from the snapshot leaves the cache.
func TestDesiredReplicasReuseTopicRecords(t *testing.T) {
	topic := metadata.Topic{Name: "orders", ID: "id-1", Version: 7, Replicas: [][]int32{{1, 2}, {2, 1}, {2, 3}}}
	snap := metadata.Snapshot{Topics: map[string]metadata.Topic{"orders": topic}}
	records := make(map[string]recordedTopic)
	defaults := metadata.DefaultTopicConfig()

	desired, errs := desiredReplicas(snap, 1, defaults, records)
	if len(errs) != 0 || len(desired) != 2 {
		t.Fatalf("node 1 desires %d replicas (%v), want 2", len(desired), errs)
	}
	first := desired[metadata.TopicPartition{Topic: "orders", Partition: 0}]
	if first.topicID != "id-1" || first.topic.Version != 0 || first.metaKey == "" {
		t.Fatalf("desired replica %+v: want the topic id, a record without the store version and a key", first)
	}
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

	// Same version: the cached record, not encoded again. (A version names
	// one definition; this copy differs only to show the record is the
	// cached one; placement still follows the snapshot.)
	changedInPlace := topic
	changedInPlace.Replicas = [][]int32{{1}, {1}, {1}}
	snap.Topics["orders"] = changedInPlace
	desired, _ = desiredReplicas(snap, 1, defaults, records)
	if d := desired[metadata.TopicPartition{Topic: "orders", Partition: 0}]; !same(d.metaKey, first.metaKey) || len(d.topic.Replicas[0]) != 2 {
		t.Fatalf("same version: record %v; want the cached one", d.topic.Replicas)
	}

	// A new version with the same definition keeps the key string.
	bumped := topic
	bumped.Version = 9
	snap.Topics["orders"] = bumped
	desired, _ = desiredReplicas(snap, 1, defaults, records)
	if d := desired[metadata.TopicPartition{Topic: "orders", Partition: 0}]; !same(d.metaKey, first.metaKey) {
		t.Fatal("new version, same definition: the key string was not kept")
	}

	// A changed definition is encoded again.
	grown := bumped
	grown.Version = 10
	grown.Replicas = append(grown.Replicas, []int32{1, 3})
	snap.Topics["orders"] = grown
	desired, _ = desiredReplicas(snap, 1, defaults, records)
	if d := desired[metadata.TopicPartition{Topic: "orders", Partition: 3}]; d.metaKey == first.metaKey || len(d.topic.Replicas) != 4 || len(desired) != 3 {
		t.Fatalf("grown topic: %d replicas, record of %d partitions; want 3 and 4 with a new key", len(desired), len(d.topic.Replicas))
	}

	delete(snap.Topics, "orders")
	if desired, _ = desiredReplicas(snap, 1, defaults, records); len(desired) != 0 || len(records) != 0 {
		t.Fatalf("topic gone: %d replicas desired, %d records cached; want none", len(desired), len(records))
	}
}

// BenchmarkDesiredReplicas: one apply's reconciliation of a snapshot with
// a topic of 10,000 partitions on 3 nodes, the topic unchanged since the
// previous apply (cached) or encoded on every apply (version 0 is never
// cached: what every apply cost before the cache).
func BenchmarkDesiredReplicas(b *testing.B) {
	for _, bc := range []struct {
		name    string
		version uint64
	}{{"cached", 7}, {"encoded", 0}} {
		b.Run(bc.name, func(b *testing.B) {
			topic := metadata.Topic{Name: "orders", ID: "id-1", Version: bc.version, Replicas: make([][]int32, 10000)}
			for p := range topic.Replicas {
				topic.Replicas[p] = []int32{int32(p%3 + 1), int32((p+1)%3 + 1), int32((p+2)%3 + 1)}
			}
			snap := metadata.Snapshot{Topics: map[string]metadata.Topic{"orders": topic}}
			records := make(map[string]recordedTopic)
			defaults := metadata.DefaultTopicConfig()
			b.ReportAllocs()
			for b.Loop() {
				if desired, _ := desiredReplicas(snap, 1, defaults, records); len(desired) != 10000 {
					b.Fatalf("%d replicas desired", len(desired))
				}
			}
		})
	}
}
