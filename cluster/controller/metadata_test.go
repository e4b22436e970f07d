package controller

import (
	"context"
	"reflect"
	"testing"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

func TestControllerMetadata(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2)
	f.create(t, "b", 2, 2, map[string]string{metadata.ConfigRetentionMs: "1000"})
	f.create(t, "a", 1, 1, nil)
	if _, err := metadata.EnsureClusterID(ctx, f.store); err != nil {
		t.Fatal(err)
	}
	snap, err := metadata.Load(ctx, f.store)
	if err != nil {
		t.Fatal(err)
	}
	// Partition b/1 is led by node 2, which is not live in this view.
	view := ClusterView{
		ControllerID: 1,
		Members:      []cluster.Member{{NodeID: 1, Address: "h1:7000", HTTPAddress: "h1:8000"}},
		Snapshot:     snap,
	}
	resp := Metadata(view, &messages.MetadataRequest{})
	if resp.ClusterId != snap.ClusterID || resp.ClusterId == "" || resp.ControllerId != 1 {
		t.Fatalf("header = %q %d", resp.ClusterId, resp.ControllerId)
	}
	if len(resp.Brokers) != 1 || resp.Brokers[0].GetAddress() != "h1:7000" || resp.Brokers[0].GetHttpAddress() != "h1:8000" {
		t.Fatalf("brokers = %v", resp.Brokers)
	}
	if len(resp.Topics) != 2 || resp.Topics[0].GetName() != "a" || resp.Topics[1].GetName() != "b" {
		t.Fatalf("topics = %v", resp.Topics)
	}
	b := resp.Topics[1]
	if b.GetConfigs()[metadata.ConfigRetentionMs] != "1000" || len(b.GetPartitions()) != 2 {
		t.Fatalf("topic b = %v", b)
	}
	p0, p1 := b.GetPartitions()[0], b.GetPartitions()[1]
	if p0.GetErrorCode() != messages.ErrorCode_NONE || p0.GetLeader() != 1 || !reflect.DeepEqual(p0.GetReplicas(), []int32{1, 2}) {
		t.Fatalf("b/0 = %v", p0)
	}
	if p1.GetErrorCode() != messages.ErrorCode_LEADER_NOT_AVAILABLE || p1.GetLeader() != -1 || !reflect.DeepEqual(p1.GetIsr(), []int32{2, 1}) {
		t.Fatalf("b/1 = %v", p1)
	}

	// Named topics, one unknown.
	resp = Metadata(view, &messages.MetadataRequest{Topics: []string{"b", "zzz"}})
	if len(resp.Topics) != 2 || resp.Topics[0].GetName() != "b" ||
		resp.Topics[1].GetErrorCode() != messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION || resp.Topics[1].GetName() != "zzz" {
		t.Fatalf("named topics = %v", resp.Topics)
	}
}
