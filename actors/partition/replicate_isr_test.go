package partition

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster/local"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

func TestReplicaISRShrinkExpandAndMinInsync(t *testing.T) {
	store := local.OpenMemory()
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	if _, err := metadata.CASPartitionState(ctx, store, "orders", 0,
		metadata.PartitionState{Leader: 1, LeaderEpoch: 0, ISR: []int32{1, 2, 3}}, 0); err != nil {
		t.Fatal(err)
	}
	g := newReplicaGroup(t, []int32{1, 2, 3}, store, func(c *Config) {
		c.TopicConfig.MinInsyncReplicas = 2
		c.Replication.ReplicaLagTime = 300 * time.Millisecond
	})
	state := State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}}
	g.startAll(state)
	wantCode(t, g.produce(1, encode(t, 1, "a"), -1, 0).ErrorCode, messages.ErrorCode_NONE, "")

	// A stopped follower leaves the ISR; acks=all waits for that, then
	// completes with the two replicas left.
	g.stop(3)
	resp := g.produce(1, encode(t, 2, "b"), -1, 60_000)
	wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
	if isr := storedISR(t, store); !slices.Equal(isr, []int32{1, 2}) {
		t.Fatalf("stored ISR %v, want [1 2]", isr)
	}

	// With one more down the ISR falls below min.insync.replicas=2.
	g.stop(2)
	wantCode(t, g.produce(1, encode(t, 3, "c"), 1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	waitFor(t, waitTimeout, func() error {
		if isr := storedISR(t, store); !slices.Equal(isr, []int32{1}) {
			return fmt.Errorf("stored ISR %v", isr)
		}
		return nil
	})
	waitFor(t, waitTimeout, func() error {
		// The leader learns the write's outcome by message: retry until
		// it has.
		if r := g.produce(1, encode(t, 4, "d"), -1, 0); r.ErrorCode != messages.ErrorCode_NOT_ENOUGH_REPLICAS {
			return fmt.Errorf("acks=all with ISR [1]: %v %s", r.ErrorCode, r.ErrorMessage)
		}
		return nil
	})
	// acks=1 still works.
	wantCode(t, g.produce(1, encode(t, 5, "e"), 1, 0).ErrorCode, messages.ErrorCode_NONE, "")

	// Restarted followers catch up from their logs and rejoin the ISR.
	g.start(2, state)
	g.start(3, state)
	waitFor(t, waitTimeout, func() error {
		if isr := storedISR(t, store); !slices.Equal(isr, []int32{1, 2, 3}) {
			return fmt.Errorf("stored ISR %v", isr)
		}
		return nil
	})
	waitFor(t, waitTimeout, func() error {
		if r := g.produce(1, encode(t, 6, "f"), -1, 0); r.ErrorCode != messages.ErrorCode_NONE {
			return fmt.Errorf("acks=all after rejoin: %v %s", r.ErrorCode, r.ErrorMessage)
		}
		return nil
	})
	g.waitCaughtUp(1)
	records := g.sameLogs()
	if got := values(t, records); got[0] != "0:a" || got[len(got)-1] != fmt.Sprintf("%d:f", len(got)-1) {
		t.Fatalf("replicated %v", got)
	}
}

func TestReplicaLeaderKeepsDeadFollowerOutOfISR(t *testing.T) {
	store := local.OpenMemory()
	t.Cleanup(func() { store.Close() })
	ctx := context.Background()
	version, err := metadata.CASPartitionState(ctx, store, "orders", 0,
		metadata.PartitionState{Leader: 1, LeaderEpoch: 0, ISR: []int32{1, 2, 3}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	g := newReplicaGroup(t, []int32{1, 2, 3}, store, nil)
	state := State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}, Version: version}
	g.startAll(state)
	wantCode(t, g.produce(1, encode(t, 1, "a"), -1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	g.waitCaughtUp(1)

	// Node 3 dies; the controller drops it from the ISR. The leader last
	// saw it caught up, but must not add it back while it is gone.
	g.stop(3)
	g.setGone(3, true)
	version, err = metadata.CASPartitionState(ctx, store, "orders", 0,
		metadata.PartitionState{Leader: 1, LeaderEpoch: 0, ISR: []int32{1, 2}}, version)
	if err != nil {
		t.Fatal(err)
	}
	shrunk := state
	shrunk.ISR, shrunk.Version = []int32{1, 2}, version
	g.update(1, shrunk)
	g.status(1) // the update is applied
	// Until the leader has found node 3 gone many times (it keeps
	// proposing to add it back, from its last view of it), or the ISR
	// changed.
	start := g.goneLookupCount(3)
	waitFor(t, waitTimeout, func() error {
		if isr := storedISR(t, store); !slices.Equal(isr, []int32{1, 2}) {
			return nil
		}
		if n := g.goneLookupCount(3) - start; n < 20 {
			return fmt.Errorf("node 3 found gone %d times, want 20", n)
		}
		return nil
	})
	if isr := storedISR(t, store); !slices.Equal(isr, []int32{1, 2}) {
		t.Fatalf("stored ISR %v while node 3 is gone, want [1 2]", isr)
	}
	wantCode(t, g.produce(1, encode(t, 2, "b"), -1, 0).ErrorCode, messages.ErrorCode_NONE, "")

	// Back, it catches up and rejoins.
	g.setGone(3, false)
	g.start(3, shrunk)
	waitFor(t, waitTimeout, func() error {
		if isr := storedISR(t, store); !slices.Equal(isr, []int32{1, 2, 3}) {
			return fmt.Errorf("stored ISR %v", isr)
		}
		return nil
	})
	g.waitCaughtUp(1)
	g.sameLogs()
}

func TestReplicaMinInsyncFollowsTopicConfig(t *testing.T) {
	g := newReplicaGroup(t, []int32{1}, nil, func(c *Config) { c.TopicConfig.MinInsyncReplicas = 2 })
	g.startAll(State{Leader: 1, Replicas: []int32{1}, ISR: []int32{1}})
	r := g.produce(1, encode(t, 1, "a"), -1, 0)
	wantCode(t, r.ErrorCode, messages.ErrorCode_NOT_ENOUGH_REPLICAS, r.ErrorMessage)
	wantCode(t, g.produce(1, encode(t, 1, "b"), 1, 0).ErrorCode, messages.ErrorCode_NONE, "")

	cfg := g.base.TopicConfig
	cfg.MinInsyncReplicas = 1
	g.system.Root.Send(g.pids[1], &UpdateConfig{TopicConfig: cfg})
	r = g.produce(1, encode(t, 1, "c"), -1, 0)
	wantCode(t, r.ErrorCode, messages.ErrorCode_NONE, r.ErrorMessage)
	if got := fmt.Sprint(values(t, g.fetch(1, 0, 0, 0).Records)); got != "[0:b 1:c]" {
		t.Fatalf("fetched %s", got)
	}
}
