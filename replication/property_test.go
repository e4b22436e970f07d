package replication

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"time"
)

// TestReplicationRandomizedInvariants drives a three-replica partition
// through random produces, message drops, delays and reordering, link
// cuts, crashes and restarts, leader elections and nodes that learn of an
// election late, checking after every delivered message that
//   - the high watermark is within every ISR member's log,
//   - no acknowledged acks=all record is lost from the leader or any ISR
//     member,
//   - followers done truncating hold a prefix of the leader's log below the
//     high watermark,
//
// and, once everything heals, that the replicas converge.
func TestReplicationRandomizedInvariants(t *testing.T) {
	seeds := 24
	if testing.Short() {
		seeds = 6
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { runRandomized(t, seed, 1500) })
	}
}

func runRandomized(t *testing.T, seed int64, steps int) {
	rng := rand.New(rand.NewSource(seed))
	cfg := Config{
		MinInsyncReplicas: 1 + rng.Intn(2),
		ReplicaLagTime:    time.Duration(1+rng.Intn(3)) * time.Second,
		RetryInterval:     300 * time.Millisecond,
		MaxPushBytes:      2000,
		MaxInflightBytes:  5000,
		MaxInflightPushes: 1 + rng.Intn(8),
	}
	c := newSimCluster(t, cfg, 1, 2, 3)
	c.rng = rand.New(rand.NewSource(seed * 7919))
	c.dropRate = []float64{0, 0.01, 0.05}[rng.Intn(3)]
	c.maxDelay = []time.Duration{0, 5 * time.Millisecond, 40 * time.Millisecond}[rng.Intn(3)]
	c.checkEvery = true
	alive := func() []int32 {
		var out []int32
		for _, id := range c.replicas {
			if c.nodes[id].alive {
				out = append(out, id)
			}
		}
		return out
	}
	dead := func() []int32 {
		var out []int32
		for _, id := range c.replicas {
			if !c.nodes[id].alive {
				out = append(out, id)
			}
		}
		return out
	}
	isrSteps, leaderSteps := 0, 0
	pick := func(ids []int32) int32 { return ids[rng.Intn(len(ids))] }
	for range steps {
		switch r := rng.Intn(100); {
		case r < 35:
			acks := []int32{-1, -1, 1, 0}[rng.Intn(4)]
			_, _ = c.produce(1+rng.Intn(4), int32(100+rng.Intn(1400)), acks)
		case r < 36:
			if ids := alive(); len(ids) > 1 {
				c.crash(pick(ids))
			}
		case r < 40:
			if ids := dead(); len(ids) > 0 {
				c.restart(pick(ids))
			}
		case r < 41:
			// A controlled leader move to a live ISR member; some nodes
			// hear of it late.
			var cands []int32
			for _, id := range c.meta.isr {
				if c.nodes[id].alive && id != c.meta.leader {
					cands = append(cands, id)
				}
			}
			if len(cands) > 0 {
				c.electWith(pick(cands), func(int32) bool { return rng.Intn(3) > 0 })
			}
		case r < 46:
			// A node that missed a metadata change learns it.
			n := c.nodes[pick(c.replicas)]
			if n.alive && !c.current(n) {
				c.takeRole(n)
			}
		case r < 48:
			// Cut or heal one direction of a link.
			a, b := pick(c.replicas), pick(c.replicas)
			if a != b {
				c.cut[[2]int32{a, b}] = rng.Intn(4) == 0
			}
		case r < 49:
			clear(c.cut)
		default:
			c.tick(time.Duration(10+rng.Intn(200)) * time.Millisecond)
		}
		if n := c.leaderNode(); n != nil && n.leader != nil {
			isrSteps += len(n.leader.ISR())
			leaderSteps++
		}
		// The controller notices a dead leader.
		if n := c.leaderNode(); n != nil && !n.alive && rng.Intn(4) == 0 {
			c.failover()
		}
	}

	// Heal: every node up and current, a clean network, time to converge.
	clear(c.cut)
	c.dropRate, c.maxDelay = 0, 0
	for _, id := range c.replicas {
		if !c.nodes[id].alive {
			c.restart(id)
		}
	}
	if c.leaderNode() == nil {
		c.elect(c.meta.isr[0])
	}
	for _, id := range c.replicas {
		if !c.current(c.nodes[id]) {
			c.takeRole(c.nodes[id])
		}
	}
	c.run(300, 100*time.Millisecond)
	c.checkInvariants()

	n := c.leaderNode()
	l := n.leader
	if l.HW() != n.log.leo() {
		t.Fatalf("after healing: leader %d HW %d, LEO %d", n.id, l.HW(), n.log.leo())
	}
	if got := l.ISR(); !slices.Equal(got, []int32{1, 2, 3}) {
		t.Fatalf("after healing: ISR %v", got)
	}
	for _, id := range c.replicas {
		if m := c.nodes[id]; !slices.Equal(m.log.recs, n.log.recs) {
			t.Fatalf("after healing: node %d has %d records, leader %d has %d", id, len(m.log.recs), n.id, len(n.log.recs))
		}
	}
	if len(c.pendingAt) != 0 {
		t.Fatalf("after healing: %d produces never completed", len(c.pendingAt))
	}
	t.Logf("epoch %d, %d records, %d acks=all records acknowledged, %d produces failed, led %d%% of steps, mean ISR %.2f",
		c.meta.epoch, n.log.leo(), len(c.ackedRecs), len(c.failed), 100*leaderSteps/steps, float64(isrSteps)/float64(max(leaderSteps, 1)))
}

// current reports whether a live node's role matches the metadata.
func (c *simCluster) current(n *simNode) bool {
	switch {
	case c.meta.leader < 0:
		return n.leader == nil && n.follower == nil
	case n.leader != nil:
		return c.meta.leader == n.id && n.leader.Epoch() == c.meta.epoch
	case n.follower != nil:
		return c.meta.leader != n.id && n.follower.Epoch() == c.meta.epoch
	}
	return false
}
