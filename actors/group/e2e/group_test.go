package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
)

func TestGroupE2EMembersSharePartitions(t *testing.T) {
	for _, assignors := range [][]string{nil, {"cooperative-sticky"}} {
		name := "range"
		if assignors != nil {
			name = assignors[0]
		}
		t.Run(name, func(t *testing.T) {
			c := clustertest.Start(t, 1)
			cl := newClient(t, c)
			if _, err := cl.CreateTopic(testCtx(t), "orders", 12, 1, nil); err != nil {
				t.Fatal(err)
			}
			produce(t, cl, "orders", 12, 20)
			cfg := groupConfig("billing", "orders")
			cfg.Assignors = assignors
			start := time.Now()
			members := []*member{startMember(t, cl, cfg), startMember(t, cl, cfg), startMember(t, cl, cfg)}
			waitUntil(t, func() error { return ownedOnce("orders", 12, members...) })
			t.Logf("%s: 3 members own 12 partitions after %v", name, time.Since(start))
			waitUntil(t, func() error {
				if n := distinct(members...); n != 240 {
					return fmt.Errorf("%d distinct records read, want 240", n)
				}
				return nil
			})

			// A fourth member: still exactly one owner per partition, and
			// the newcomer gets its share.
			start = time.Now()
			members = append(members, startMember(t, cl, cfg))
			waitUntil(t, func() error {
				if err := ownedOnce("orders", 12, members...); err != nil {
					return err
				}
				for i, m := range members {
					if n := len(m.assignment()); n != 3 {
						return fmt.Errorf("member %d owns %d partitions, want 3", i, n)
					}
				}
				return nil
			})
			t.Logf("%s: rebalanced to 4 members in %v", name, time.Since(start))

			// New records reach the group once more.
			produce(t, cl, "orders", 12, 5)
			waitUntil(t, func() error {
				if n := distinct(members...); n != 300 {
					return fmt.Errorf("%d distinct records read, want 300", n)
				}
				return nil
			})
		})
	}
}

func TestGroupE2EGroupsAreIndependent(t *testing.T) {
	c := clustertest.Start(t, 1)
	cl := newClient(t, c)
	if _, err := cl.CreateTopic(testCtx(t), "events", 4, 1, nil); err != nil {
		t.Fatal(err)
	}
	produce(t, cl, "events", 4, 25)
	a1 := startMember(t, cl, groupConfig("a", "events"))
	a2 := startMember(t, cl, groupConfig("a", "events"))
	b := startMember(t, cl, groupConfig("b", "events"))
	waitUntil(t, func() error {
		if n := distinct(a1, a2); n != 100 {
			return fmt.Errorf("group a read %d distinct records, want 100", n)
		}
		if n := distinct(b); n != 100 {
			return fmt.Errorf("group b read %d distinct records, want 100", n)
		}
		return ownedOnce("events", 4, a1, a2)
	})
}

func TestGroupE2EOffsetsSurviveBrokerRestart(t *testing.T) {
	c := clustertest.Start(t, 1)
	cl := newClient(t, c)
	ctx := testCtx(t)
	if _, err := cl.CreateTopic(ctx, "logs", 3, 1, nil); err != nil {
		t.Fatal(err)
	}
	produce(t, cl, "logs", 3, 10)
	m := startMember(t, cl, groupConfig("archiver", "logs"))
	waitUntil(t, func() error {
		if n := distinct(m); n != 30 {
			return fmt.Errorf("read %d records, want 30", n)
		}
		return nil
	})
	m.close() // commits the positions and leaves
	before, err := cl.CommittedOffsets(ctx, "archiver")
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 3 {
		t.Fatalf("committed %v, want 3 partitions", before)
	}
	for tp, o := range before {
		if o.Offset != 10 {
			t.Fatalf("%v committed at %d, want 10", tp, o.Offset)
		}
	}

	c.Restart(0)
	var after map[client.TopicPartition]client.CommittedOffset
	waitUntil(t, func() error {
		var err error
		after, err = cl.CommittedOffsets(ctx, "archiver")
		return err
	})
	for tp, o := range before {
		if after[tp].Offset != o.Offset {
			t.Fatalf("after restart %v is at %d, want %d", tp, after[tp].Offset, o.Offset)
		}
	}
	// A new member resumes after the committed records: it reads only
	// what comes next.
	produce(t, cl, "logs", 3, 2)
	m = startMember(t, cl, groupConfig("archiver", "logs"))
	waitUntil(t, func() error {
		if n := distinct(m); n != 6 {
			return fmt.Errorf("read %d records after the restart, want the 6 new ones", n)
		}
		return nil
	})
	if n := len(m.read()); n != 6 {
		t.Fatalf("read %d records, want 6", n)
	}
}

// TestGroupE2ETenMembersJoin records how long ten members take to form a
// group on a real broker: the first join waits the coordinator's initial
// rebalance delay (3 s, Kafka's default) for more members.
func TestGroupE2ETenMembersJoin(t *testing.T) {
	c := clustertest.Start(t, 1)
	cl := newClient(t, c)
	if _, err := cl.CreateTopic(testCtx(t), "wide", 20, 1, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var members []*member
	for range 10 {
		members = append(members, startMember(t, cl, groupConfig("ten", "wide")))
	}
	waitUntil(t, func() error {
		if err := ownedOnce("wide", 20, members...); err != nil {
			return err
		}
		for i, m := range members {
			if n := len(m.assignment()); n != 2 {
				return fmt.Errorf("member %d owns %d partitions", i, n)
			}
		}
		return nil
	})
	t.Logf("10 members joined and own 2 partitions each after %v", time.Since(start))
	start = time.Now()
	members[9].close()
	members = members[:9]
	waitUntil(t, func() error { return ownedOnce("wide", 20, members...) })
	t.Logf("rebalance after one of 10 members left took %v", time.Since(start))
}
