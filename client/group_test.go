package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

func groupConfig(group string, topics ...string) GroupConfig {
	return GroupConfig{
		GroupID:           group,
		Topics:            topics,
		SessionTimeout:    3 * time.Second,
		RebalanceTimeout:  3 * time.Second,
		HeartbeatInterval: 50 * time.Millisecond,
		AutoOffsetReset:   ResetEarliest,
		AutoCommit:        true,
	}
}

func TestGroupConsumerSharesPartitions(t *testing.T) {
	for _, assignors := range [][]string{{"range"}, {"cooperative-sticky"}} {
		t.Run(assignors[0], func(t *testing.T) {
			c := newNodeClient(t)
			ctx := context.Background()
			if _, err := c.CreateTopic(ctx, "orders", 6, 1, nil); err != nil {
				t.Fatal(err)
			}
			produceEach(t, c, "orders", 6, 5)
			cfg := groupConfig("app", "orders")
			cfg.Assignors = assignors
			a := startMember(t, c, cfg)
			waitUntil(t, func() error { return ownedOnce("orders", 6, a) })
			b := startMember(t, c, cfg)
			waitUntil(t, func() error {
				if err := ownedOnce("orders", 6, a, b); err != nil {
					return err
				}
				if len(a.assignment()) != 3 {
					return fmt.Errorf("a owns %d partitions, want 3", len(a.assignment()))
				}
				return nil
			})
			// Every record is read; none twice within a member's
			// partitions (a partition read by both was handed over).
			waitUntil(t, func() error {
				all := append(a.values(), b.values()...)
				slices.Sort(all)
				all = slices.Compact(all)
				if len(all) != 30 {
					return fmt.Errorf("%d distinct records read, want 30", len(all))
				}
				return nil
			})
			// b leaves: a owns everything again.
			b.close()
			waitUntil(t, func() error { return ownedOnce("orders", 6, a) })
		})
	}
}

func TestGroupConsumerResumesFromCommit(t *testing.T) {
	c := newNodeClient(t)
	ctx := context.Background()
	if _, err := c.CreateTopic(ctx, "logs", 2, 1, nil); err != nil {
		t.Fatal(err)
	}
	produceEach(t, c, "logs", 2, 10)
	cfg := groupConfig("reader", "logs")
	cfg.AutoCommit = false
	gc, err := NewGroupConsumer(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var read int
	for read < 20 {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		recs, err := gc.Poll(pctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		read += len(recs)
	}
	if err := gc.CommitOffsets(ctx, map[TopicPartition]int64{{Topic: "logs", Partition: 0}: 7}); err != nil {
		t.Fatal(err)
	}
	if err := gc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	committed, err := c.CommittedOffsets(ctx, "reader")
	if err != nil {
		t.Fatal(err)
	}
	if len(committed) != 1 || committed[TopicPartition{Topic: "logs", Partition: 0}].Offset != 7 {
		t.Fatalf("committed %v", committed)
	}

	// A new member starts partition 0 at the commit, partition 1 at the
	// log start (no commit, earliest).
	gc, err = NewGroupConsumer(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close(ctx)
	var got []string
	for len(got) < 13 {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		recs, err := gc.Poll(pctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			got = append(got, string(r.Value))
		}
	}
	slices.Sort(got)
	if got[0] != "p0-7" || len(got) != 13 {
		t.Fatalf("read %v, want p0-7.. and all of p1", got)
	}
	// Commits use the positions: after the read, every partition's end.
	done := make(chan error, 1)
	gc.CommitAsync(func(offsets map[TopicPartition]int64, err error) {
		if err == nil && len(offsets) != 2 {
			err = fmt.Errorf("committed %v, want 2 partitions", offsets)
		}
		done <- err
	})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := gc.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	committed, err = c.CommittedOffsets(ctx, "reader")
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(2) {
		if o := committed[TopicPartition{Topic: "logs", Partition: p}].Offset; o != 10 {
			t.Fatalf("partition %d committed %d, want 10", p, o)
		}
	}
}

func TestGroupAdmin(t *testing.T) {
	c := newNodeClient(t)
	ctx := context.Background()
	if _, err := c.CreateTopic(ctx, "orders", 3, 1, nil); err != nil {
		t.Fatal(err)
	}
	m := startMember(t, c, groupConfig("app", "orders"))
	waitUntil(t, func() error { return ownedOnce("orders", 3, m) })

	d, err := c.DescribeGroup(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	if d.State != "Stable" || d.Protocol != "range" || len(d.Members) != 1 ||
		len(d.Members[0].Assignment) != 3 || !slices.Equal(d.Members[0].Topics, []string{"orders"}) {
		t.Fatalf("describe: %+v", d)
	}
	groups, err := c.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || groups[0].GroupID != "app" || groups[0].State != "Stable" || groups[0].ProtocolType != ConsumerProtocolType {
		t.Fatalf("list: %+v", groups)
	}
	if err := c.DeleteGroup(ctx, "app"); !errors.Is(err, messages.ErrNonEmptyGroup) {
		t.Fatalf("delete active group: %v", err)
	}
	m.close()
	waitUntil(t, func() error {
		d, err := c.DescribeGroup(ctx, "app")
		if err == nil && d.State != "Empty" {
			err = fmt.Errorf("state %s", d.State)
		}
		return err
	})
	if err := c.CommitGroupOffsets(ctx, "app", map[TopicPartition]int64{{Topic: "orders", Partition: 0}: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteGroup(ctx, "app"); err != nil {
		t.Fatal(err)
	}
	if d, err := c.DescribeGroup(ctx, "app"); err != nil || d.State != "Dead" {
		t.Fatalf("describe deleted group: %v %+v", err, d)
	}
	if err := c.DeleteGroup(ctx, "app"); !errors.Is(err, messages.ErrGroupIDNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestGroupConsumerPicksUpNewPartitions(t *testing.T) {
	c := newNodeClient(t)
	ctx := context.Background()
	if _, err := c.CreateTopic(ctx, "orders", 2, 1, nil); err != nil {
		t.Fatal(err)
	}
	cfg := groupConfig("app", "orders", "later")
	cfg.MetadataMaxAge = 100 * time.Millisecond
	m := startMember(t, c, cfg)
	waitUntil(t, func() error { return ownedOnce("orders", 2, m) })
	// Partitions added to a subscribed topic, and a subscribed topic
	// created, are assigned without any member joining or leaving.
	if err := c.CreatePartitions(ctx, "orders", 4); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTopic(ctx, "later", 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	want := map[TopicPartition]bool{{Topic: "later", Partition: 0}: true}
	for p := range int32(4) {
		want[TopicPartition{Topic: "orders", Partition: p}] = true
	}
	waitUntil(t, func() error {
		if got := m.assignment(); !maps.Equal(got, want) {
			return fmt.Errorf("owns %v, want %v", got, want)
		}
		return nil
	})
}

func TestGroupConsumerStaticMemberKeepsItsPartitions(t *testing.T) {
	c := newNodeClient(t)
	ctx := context.Background()
	if _, err := c.CreateTopic(ctx, "orders", 4, 1, nil); err != nil {
		t.Fatal(err)
	}
	a := groupConfig("app", "orders")
	a.InstanceID = "a"
	b := groupConfig("app", "orders")
	b.InstanceID = "b"
	ma, mb := startMember(t, c, a), startMember(t, c, b)
	waitUntil(t, func() error {
		if err := ownedOnce("orders", 4, ma, mb); err != nil {
			return err
		}
		if len(ma.assignment()) != 2 || ma.gc.Generation() != mb.gc.Generation() {
			return fmt.Errorf("owned %d and %d", len(ma.assignment()), len(mb.assignment()))
		}
		return nil
	})
	before, gen := mb.assignment(), mb.gc.Generation()

	// b restarts: a static member does not leave on close, and its
	// successor takes over its identity without a rebalance.
	mb.close()
	mb = startMember(t, c, b)
	waitUntil(t, func() error {
		if got := mb.assignment(); !maps.Equal(got, before) {
			return fmt.Errorf("restarted member owns %v, want %v", got, before)
		}
		return nil
	})
	if g := mb.gc.Generation(); g != gen {
		t.Fatalf("generation %d after a static restart, want %d", g, gen)
	}
	if g := ma.gc.Generation(); g != gen {
		t.Fatalf("the other member moved to generation %d, want %d", g, gen)
	}
}

// TestGroupCommitCarriesLeaderEpoch: a member's commit of its position
// stores the leader epoch of the last record it consumed, so a member
// resuming from it can validate it (KIP-320).
func TestGroupCommitCarriesLeaderEpoch(t *testing.T) {
	c := newNodeClient(t)
	ctx := context.Background()
	if _, err := c.CreateTopic(ctx, "logs", 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	produceEach(t, c, "logs", 1, 5)
	cfg := groupConfig("epochs", "logs")
	cfg.AutoCommit = false
	gc, err := NewGroupConsumer(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for read := 0; read < 5; {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		recs, err := gc.Poll(pctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		read += len(recs)
	}
	if err := gc.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := gc.Close(ctx); err != nil {
		t.Fatal(err)
	}
	md, err := c.Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	epoch := md.Topics[slices.IndexFunc(md.Topics, func(ti TopicInfo) bool { return ti.Name == "logs" })].Partitions[0].LeaderEpoch
	committed, err := c.CommittedOffsets(ctx, "epochs")
	if err != nil {
		t.Fatal(err)
	}
	if o := committed[TopicPartition{Topic: "logs", Partition: 0}]; o.Offset != 5 || o.LeaderEpoch != epoch {
		t.Fatalf("committed %+v, want offset 5 in leader epoch %d", o, epoch)
	}
}
