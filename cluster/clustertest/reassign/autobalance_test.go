package reassign

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/cluster/clustertest/workload"
	"github.com/sluice-mq/sluice/cluster/consul/consultest"
)

// A fourth node started under an acks=all load receives its share of the
// replicas with no command: the controller sees the imbalance last the
// settle delay and moves replicas onto it, max_moves at a time, through
// the throttled catch-up. `sluice node decommission 4` then only records
// the intent and the controller empties the node. No acknowledged record
// is lost.
func TestAutoBalanceNewNodeAndDecommission(t *testing.T) {
	agent := consultest.Start(t)
	flags := clustertest.WithFlags(func(int) []string {
		return []string{"--consul", agent.Addr(), "--consul-check-ttl", checkTTL, "--replica-lag-time", replicaLagTime,
			"--balance-settle-delay", "2s", "--reassignment-throttle-bytes", "4194304"}
	})
	c := clustertest.Start(t, 3, flags)
	e := newEnv(t, c)
	const topic, parts = "grow", int32(6)
	e.createInSync(topic, parts)
	l := workload.Start(t, e.cl, topic, parts, "a")
	l.WaitProgress(t, 100, waitTimeout)

	joined := time.Now()
	added := clustertest.Start(t, 1, flags, clustertest.WithFirstNodeID(4))
	// 18 replicas over four nodes: the new one ends with 4 or 5, every
	// partition back to three replicas in sync.
	e.waitFor("node 4 holds its share of replicas, in sync", func() error {
		info, err := e.inSync(topic, 3)
		if err != nil {
			return err
		}
		on := 0
		for _, p := range info {
			if slices.Contains(p.ISR, 4) {
				on++
			}
		}
		if on < 4 {
			return fmt.Errorf("node 4 in the ISR of %d partitions", on)
		}
		return nil
	})
	t.Logf("node 4 balanced %s after its start (settle delay 2s)", time.Since(joined).Round(time.Millisecond))
	l.WaitProgress(t, 100, waitTimeout)

	brokers := []string{c.Addr(0), c.Addr(1), c.Addr(2), added.Addr(0)}
	left := time.Now()
	t.Logf("sluice node decommission 4:\n%s", sluice(t, brokers, "node", "decommission", "4"))
	e.waitFor("node 4 holds no replica", func() error {
		info, err := e.inSync(topic, 3)
		if err != nil {
			return err
		}
		for _, p := range info {
			if slices.Contains(p.Replicas, 4) || p.Leader == 4 {
				return fmt.Errorf("partition %d: replicas %v leader %d", p.Partition, p.Replicas, p.Leader)
			}
		}
		return nil
	})
	t.Logf("node 4 emptied %s after the decommission", time.Since(left).Round(time.Millisecond))
	l.WaitProgress(t, 100, waitTimeout)

	acks, failed := l.Finish(t)
	t.Logf("%d records acknowledged, %d failed", len(acks), len(failed))
	e.verify(topic, parts, acks)
}
