package controller

import (
	"context"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

func TestControllerPartitionLimits(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2)
	f.ctl = New(f.store, f.members, metadata.DefaultTopicConfig(),
		WithStartIndex(func(string) int { return 0 }),
		WithLimits(Limits{MaxPartitionsPerTopic: 8, MaxPartitionsPerNode: 10}))

	// Over the per-topic limit: refused with the key named, nothing written.
	resp := f.ctl.CreateTopic(ctx, &messages.CreateTopicRequest{Name: "big", Partitions: 9, ReplicationFactor: 1})
	if resp.ErrorCode != messages.ErrorCode_INVALID_PARTITIONS || !strings.Contains(resp.ErrorMessage, "limits.max_partitions_per_topic") {
		t.Fatalf("create over the topic limit = %v %q", resp.ErrorCode, resp.ErrorMessage)
	}
	if kvs := f.storeKeys(t); len(kvs) != 0 {
		t.Fatalf("refused create wrote %d keys", len(kvs))
	}

	// 8 partitions × 2 replicas: 8 per node, within 10.
	f.create(t, "a", 8, 2, nil)
	before := len(f.storeKeys(t))
	// 2 more × 2 replicas would make 10 per node: allowed; 3 would not.
	resp = f.ctl.CreateTopic(ctx, &messages.CreateTopicRequest{Name: "b", Partitions: 3, ReplicationFactor: 2})
	if resp.ErrorCode != messages.ErrorCode_INVALID_PARTITIONS || !strings.Contains(resp.ErrorMessage, "limits.max_partitions_per_node") {
		t.Fatalf("create over the node limit = %v %q", resp.ErrorCode, resp.ErrorMessage)
	}
	if n := len(f.storeKeys(t)); n != before {
		t.Fatalf("refused create changed the store: %d keys, want %d", n, before)
	}
	f.create(t, "b", 2, 2, nil)

	// Add-partitions checks both limits too.
	grow := f.ctl.CreatePartitions(ctx, &messages.CreatePartitionsRequest{Topic: "b", TotalCount: 3})
	if grow.ErrorCode != messages.ErrorCode_INVALID_PARTITIONS || !strings.Contains(grow.ErrorMessage, "per node") {
		t.Fatalf("add-partitions over the node limit = %v %q", grow.ErrorCode, grow.ErrorMessage)
	}
	grow = f.ctl.CreatePartitions(ctx, &messages.CreatePartitionsRequest{Topic: "a", TotalCount: 9})
	if grow.ErrorCode != messages.ErrorCode_INVALID_PARTITIONS || !strings.Contains(grow.ErrorMessage, "per topic") {
		t.Fatalf("add-partitions over the topic limit = %v %q", grow.ErrorCode, grow.ErrorMessage)
	}
}

func TestControllerCreateTopicRetried(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1)
	req := &messages.CreateTopicRequest{Name: "orders", Partitions: 2, ReplicationFactor: 1, RequestId: "r-1"}
	first := f.ctl.CreateTopic(ctx, req)
	if first.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("create = %v %q", first.ErrorCode, first.ErrorMessage)
	}
	// The first attempt was cut off before it wrote partition 1's state.
	if err := f.store.Delete(ctx, metadata.PartitionStateKey("orders", 1), 0); err != nil {
		t.Fatal(err)
	}
	// The same request again (its answer was lost): the topic, no error,
	// and the missing state written.
	again := f.ctl.CreateTopic(ctx, req)
	if again.ErrorCode != messages.ErrorCode_NONE || len(again.GetTopic().GetPartitions()) != 2 {
		t.Fatalf("retried create = %v %q %v", again.ErrorCode, again.ErrorMessage, again.GetTopic())
	}
	if st, err := metadata.GetPartitionState(ctx, f.store, "orders", 1); err != nil || st.Leader != 1 {
		t.Fatalf("partition 1 after the retry: %+v %v, want led by node 1", st, err)
	}
	// Another request (another id, or none) for the name: the topic exists.
	for _, id := range []string{"r-2", ""} {
		other := f.ctl.CreateTopic(ctx, &messages.CreateTopicRequest{Name: "orders", Partitions: 2, ReplicationFactor: 1, RequestId: id})
		if other.ErrorCode != messages.ErrorCode_TOPIC_ALREADY_EXISTS {
			t.Fatalf("create with request id %q = %v, want TOPIC_ALREADY_EXISTS", id, other.ErrorCode)
		}
	}
}
