package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/cluster/consul/consultest"
	core "github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
)

// startCluster runs n sluiced nodes registered in a Consul dev agent.
func startCluster(t *testing.T, n int) *clustertest.Cluster {
	t.Helper()
	agent := consultest.Start(t)
	return clustertest.Start(t, n, clustertest.WithFlags(func(int) []string {
		return []string{"--consul", agent.Addr(), "--consul-check-ttl", "2s"}
	}))
}

// groupLedBy returns a group id whose __consumer_offsets partition is led
// by node, per the client's metadata (which must list the topic).
func groupLedBy(t *testing.T, cl *client.Client, node int32) string {
	t.Helper()
	md, err := cl.Metadata(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range md.Topics {
		if topic.Name != messages.ConsumerOffsetsTopic {
			continue
		}
		for i := range 10000 {
			g := fmt.Sprintf("group-%d", i)
			if topic.Partitions[core.OffsetsPartition(g, int32(len(topic.Partitions)))].Leader == node {
				return g
			}
		}
	}
	t.Fatalf("no group coordinated by node %d", node)
	return ""
}

// TestGroupE2ECoordinatorFailover runs groups coordinated by different
// nodes of a three-node cluster, then kills the coordinator of one: the
// group moves to the new leader of its partition, which rebuilds it from
// the replicated log, committed offsets included, and its member carries
// on.
func TestGroupE2ECoordinatorFailover(t *testing.T) {
	c := startCluster(t, 3)
	cl := newClient(t, c)
	ctx := testCtx(t)
	if _, err := cl.CreateTopic(ctx, "orders", 6, 3, nil); err != nil {
		t.Fatal(err)
	}
	produce(t, cl, "orders", 6, 10)
	// The first FindCoordinator creates __consumer_offsets (replication
	// factor 3 with three live nodes).
	waitUntil(t, func() error {
		_, err := cl.CommittedOffsets(ctx, "bootstrap")
		return err
	})

	// One group per node, each coordinated there.
	var groups []string
	var members []*member
	for i := range 3 {
		g := groupLedBy(t, cl, c.Node(i).ID)
		groups = append(groups, g)
		members = append(members, startMember(t, cl, groupConfig(g, "orders")))
	}
	waitUntil(t, func() error {
		for i, m := range members {
			if err := ownedOnce("orders", 6, m); err != nil {
				return fmt.Errorf("group %s: %w", groups[i], err)
			}
			if n := distinct(m); n != 60 {
				return fmt.Errorf("group %s read %d records, want 60", groups[i], n)
			}
		}
		return nil
	})
	// Wait for the auto-commits of everything read.
	waitUntil(t, func() error {
		for _, g := range groups {
			offs, err := cl.CommittedOffsets(ctx, g)
			if err != nil {
				return err
			}
			for p := range int32(6) {
				if o := offs[client.TopicPartition{Topic: "orders", Partition: p}].Offset; o != 10 {
					return fmt.Errorf("group %s partition %d committed %d, want 10", g, p, o)
				}
			}
		}
		return nil
	})

	// Kill the coordinator of the second group, the second node (the
	// first is the client's seed).
	start := time.Now()
	c.Kill(1)
	produce(t, cl, "orders", 6, 5)
	for i, g := range groups {
		if i == 1 {
			continue
		}
		waitUntil(t, func() error {
			if n := distinct(members[i]); n != 90 {
				return fmt.Errorf("group %s read %d records, want 90", g, n)
			}
			return nil
		})
	}
	moved := groups[1]
	waitUntil(t, func() error {
		if n := distinct(members[1]); n != 90 {
			return fmt.Errorf("group %s (coordinator killed) read %d records, want 90", moved, n)
		}
		return nil
	})
	t.Logf("group %s resumed on a new coordinator %v after its coordinator was killed", moved, time.Since(start))
	// Its member did not read anything twice: the committed offsets moved
	// with the group.
	if n := len(members[1].read()); n != 90 {
		t.Fatalf("group %s read %d records in all, want 90 (no re-reads)", moved, n)
	}
	d, err := cl.DescribeGroup(ctx, moved)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != "Stable" || len(d.Members) != 1 {
		t.Fatalf("group %s after failover: %+v", moved, d)
	}
}
