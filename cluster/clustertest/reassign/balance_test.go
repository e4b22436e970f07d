package reassign

import (
	"context"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/cluster/clustertest/workload"
	"github.com/sluice-mq/sluice/cluster/consul/consultest"
)

// sluice runs the CLI against brokers and returns its standard output.
func sluice(t *testing.T, brokers []string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, clustertest.BuildCLI(t), append([]string{"--brokers", strings.Join(brokers, ",")}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sluice %v: %v\n%s%s", args, err, out, stderr.String())
	}
	return out
}

// replicasOn counts the replicas and leaderships node holds in topic.
func (e *env) replicasOn(topic string, node int32) (replicas, leads int) {
	e.t.Helper()
	for _, p := range e.describe(topic).Partitions {
		if slices.Contains(p.Replicas, node) {
			replicas++
		}
		if p.Leader == node {
			leads++
		}
	}
	return replicas, leads
}

// A fourth node joins under an acks=all load: `sluice cluster balance`
// gives it its share of replicas and leaderships (the automatic balance
// is held off by a long settle delay), `sluice node decommission 4
// --wait` has the controller take them away again, and no acknowledged
// record is lost.
func TestClusterBalanceAndDecommission(t *testing.T) {
	agent := consultest.Start(t)
	flags := clustertest.WithFlags(func(int) []string {
		return []string{"--consul", agent.Addr(), "--consul-check-ttl", checkTTL, "--replica-lag-time", replicaLagTime,
			"--balance-settle-delay", "1h"}
	})
	c := clustertest.Start(t, 3, flags)
	e := newEnv(t, c)
	const topic, parts = "spread", int32(6)
	e.createInSync(topic, parts)
	l := workload.Start(t, e.cl, topic, parts, "b")
	l.WaitProgress(t, 100, waitTimeout)

	added := clustertest.Start(t, 1, flags, clustertest.WithFirstNodeID(4))
	e.waitBrokers(4)
	brokers := []string{c.Addr(0), c.Addr(1), c.Addr(2), added.Addr(0)}

	// The plan first: 18 replicas over four nodes, 4 or 5 each.
	var plan []struct {
		To     []int32 `json:"to"`
		Copies bool    `json:"copies"`
	}
	if err := json.Unmarshal(sluice(t, brokers, "-o", "json", "cluster", "balance", "--dry-run"), &plan); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.replicasOn(topic, 4); len(plan) == 0 || r != 0 {
		t.Fatalf("dry run: plan %+v, node 4 holds %d replicas", plan, r)
	}
	t.Logf("sluice cluster balance:\n%s", sluice(t, brokers, "cluster", "balance", "--max-moves", "2"))
	e.waitInSync(topic, 3)
	if r, leads := e.replicasOn(topic, 4); r < 4 || leads < 1 {
		t.Fatalf("after balance node 4 holds %d replicas and leads %d: %+v", r, leads, e.describe(topic).Partitions)
	}
	l.WaitProgress(t, 100, waitTimeout)

	var done struct {
		Node           int32 `json:"node"`
		Decommissioned bool  `json:"decommissioned"`
		ReplicasLeft   *int  `json:"replicas_left"`
	}
	if err := json.Unmarshal(sluice(t, brokers, "-o", "json", "node", "decommission", "4", "--wait"), &done); err != nil {
		t.Fatal(err)
	}
	if done.Node != 4 || !done.Decommissioned || done.ReplicasLeft == nil || *done.ReplicasLeft != 0 {
		t.Fatalf("sluice node decommission 4 --wait -o json: %+v", done)
	}
	e.waitInSync(topic, 3)
	if r, leads := e.replicasOn(topic, 4); r != 0 || leads != 0 {
		t.Fatalf("after decommission node 4 holds %d replicas and leads %d", r, leads)
	}
	l.WaitProgress(t, 100, waitTimeout)

	acks, failed := l.Finish(t)
	t.Logf("%d records acknowledged, %d failed", len(acks), len(failed))
	e.verify(topic, parts, acks)
}
