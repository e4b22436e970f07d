package reassign

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/cluster/clustertest/workload"
	"github.com/sluice-mq/sluice/cluster/consul/consultest"
	"github.com/sluice-mq/sluice/messages"
)

// Timing of the test cluster: a dead node is noticed in about a second; a
// follower behind for three seconds leaves the ISR.
const (
	checkTTL       = "1s"
	replicaLagTime = "3s"
	waitTimeout    = 60 * time.Second
	requestTimeout = 5 * time.Second
)

// TestReassignOntoNewNode moves every replica of node 1 onto a node started
// under an acks=all load: node 4 ends up holding and leading partitions,
// node 1 holds none and has deleted their data, and every acknowledged
// record is consumed at its acknowledged partition and offset.
func TestReassignOntoNewNode(t *testing.T) {
	agent := consultest.Start(t)
	// Node 1 ends empty by hand: the automatic balance would give it
	// replicas back after its settle delay.
	flags := clustertest.WithFlags(func(int) []string {
		return []string{"--consul", agent.Addr(), "--consul-check-ttl", checkTTL, "--replica-lag-time", replicaLagTime,
			"--auto-replica-balance=false"}
	})
	c := clustertest.Start(t, 3, flags)
	e := newEnv(t, c)

	const topic, parts = "moves", int32(3)
	ctx := e.ctx()
	e.createInSync(topic, parts)

	l := workload.Start(t, e.cl, topic, parts, "r")
	l.WaitProgress(t, 150, waitTimeout)

	added := clustertest.Start(t, 1, flags, clustertest.WithFirstNodeID(4))
	e.waitBrokers(4)

	// Node 1's place in each replica list goes to node 4; the partition
	// node 1 led (its preferred leader) gets node 4 as preferred leader.
	info := e.describe(topic)
	for _, p := range info.Partitions {
		target := slices.Clone(p.Replicas)
		target[slices.Index(target, 1)] = 4
		if err := e.cl.ReassignPartition(ctx, topic, p.Partition, target); err != nil {
			t.Fatalf("reassign %d to %v: %v", p.Partition, target, err)
		}
	}
	e.waitFor("reassignments complete", func() error {
		list, err := e.cl.ListReassignments(ctx)
		if err == nil && len(list) > 0 {
			err = fmt.Errorf("in progress: %+v", list)
		}
		return err
	})
	e.waitInSync(topic, 3)
	info = e.describe(topic)
	led := 0
	for _, p := range info.Partitions {
		if slices.Contains(p.Replicas, 1) || !slices.Contains(p.Replicas, 4) {
			t.Errorf("partition %d: replicas %v after the move", p.Partition, p.Replicas)
		}
		if p.Leader == 4 {
			led++
		}
	}
	if led == 0 {
		t.Errorf("node 4 leads no partition: %+v", info.Partitions)
	}
	l.WaitProgress(t, 150, waitTimeout)

	acks, failed := l.Finish(t)
	t.Logf("%d records acknowledged, %d failed", len(acks), len(failed))
	e.verify(topic, parts, acks)

	for p := range parts {
		dir := topic + "-" + strconv.Itoa(int(p))
		if _, err := os.Stat(filepath.Join(added.DataDir(0), dir)); err != nil {
			t.Errorf("node 4 has no data of partition %d: %v", p, err)
		}
		e.waitFor("node 1 deleting "+dir, func() error {
			if _, err := os.Stat(filepath.Join(c.DataDir(0), dir)); !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("%s still there (%v)", dir, err)
			}
			return nil
		})
	}
}

// env is the cluster under test and the test process's one client.
type env struct {
	t  *testing.T
	cl *client.Client
}

func newEnv(t *testing.T, c *clustertest.Cluster) *env {
	t.Helper()
	seeds := make([]string, c.Len())
	for i := range seeds {
		seeds[i] = c.Addr(i)
	}
	cl, err := client.New(context.Background(), client.Config{Seeds: seeds, RequestTimeout: requestTimeout, MaxRetries: 30})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	// The client is not closed: protoactor's remote shutdown races with
	// earlier sends under -race, and the process exits after the test.
	return &env{t: t, cl: cl}
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	e.t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it returns nil, failing the test after
// waitTimeout.
func (e *env) waitFor(what string, cond func() error) {
	e.t.Helper()
	clustertest.Await(e.t, waitTimeout, what, cond)
}

// createInSync creates topic with parts partitions, three replicas each
// and min.insync.replicas 2 (a create the client retried is not a
// failure), and waits until every replica is in sync.
func (e *env) createInSync(topic string, parts int32) {
	e.t.Helper()
	ctx := e.ctx()
	e.waitFor("topic "+topic+" created", func() error {
		_, err := e.cl.CreateTopic(ctx, topic, parts, 3, map[string]string{"min.insync.replicas": "2"})
		if errors.Is(err, messages.ErrTopicAlreadyExists) {
			return nil
		}
		return err
	})
	e.waitInSync(topic, 3)
}

// waitBrokers waits until the metadata names n live brokers.
func (e *env) waitBrokers(n int) {
	e.t.Helper()
	ctx := e.ctx()
	e.waitFor(fmt.Sprintf("%d brokers", n), func() error {
		md, err := e.cl.Metadata(ctx)
		if err == nil && len(md.Brokers) != n {
			err = fmt.Errorf("brokers %v", md.Brokers)
		}
		return err
	})
}

// describe returns the topic's current metadata.
func (e *env) describe(topic string) client.TopicInfo {
	e.t.Helper()
	var info client.TopicInfo
	e.waitFor("metadata of "+topic, func() error {
		md, err := e.cl.Metadata(e.ctx())
		if err != nil {
			return err
		}
		for _, ti := range md.Topics {
			if ti.Name == topic {
				info = ti
				return nil
			}
		}
		return fmt.Errorf("no topic %s", topic)
	})
	return info
}

// waitInSync waits until every partition of topic has rf replicas, all in
// the ISR, and a leader.
func (e *env) waitInSync(topic string, rf int) {
	e.t.Helper()
	e.waitFor("every replica of "+topic+" in sync", func() error {
		_, err := e.inSync(topic, rf)
		return err
	})
}

// inSync returns topic's partitions when every one has rf replicas, all
// in the ISR, and a leader; else an error saying which does not.
func (e *env) inSync(topic string, rf int) ([]client.PartitionInfo, error) {
	md, err := e.cl.Metadata(e.ctx())
	if err != nil {
		return nil, err
	}
	for _, ti := range md.Topics {
		if ti.Name != topic {
			continue
		}
		for _, p := range ti.Partitions {
			if p.Leader < 0 || len(p.Replicas) != rf || len(p.ISR) != rf {
				return nil, fmt.Errorf("partition %d: leader %d isr %v replicas %v", p.Partition, p.Leader, p.ISR, p.Replicas)
			}
		}
		return ti.Partitions, nil
	}
	return nil, fmt.Errorf("no topic %s", topic)
}
