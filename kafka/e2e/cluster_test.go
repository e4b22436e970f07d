package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/cluster/consul/consultest"
)

// waitTimeout bounds every wait for the cluster to converge.
const waitTimeout = 60 * time.Second

// kenv is a three-node cluster (Consul metadata) and a kgo admin client
// of its Kafka listeners.
type kenv struct {
	t     *testing.T
	c     *clustertest.Cluster
	admin *kgo.Client
}

// startCluster starts three nodes on a Consul dev agent, with the timing
// of the integration tests (a dead node is noticed in about a second),
// and waits until the Kafka listeners name all three brokers.
func startCluster(t *testing.T) *kenv {
	t.Helper()
	agent := consultest.Start(t)
	c := clustertest.Start(t, 3, clustertest.WithLogLevel("warn"), clustertest.WithFlags(func(int) []string {
		return []string{"--consul", agent.Addr(), "--consul-check-ttl", "1s", "--replica-lag-time", "3s"}
	}))
	e := &kenv{t: t, c: c, admin: newClient(t, c)}
	e.waitFor("three brokers and a controller", func() error {
		m, err := e.metadata()
		if err != nil {
			return err
		}
		if len(m.Brokers) != 3 || m.ControllerID < 0 {
			return fmt.Errorf("brokers %v, controller %d", m.Brokers, m.ControllerID)
		}
		return nil
	})
	return e
}

// bootstrap is every node's Kafka address, comma separated.
func (e *kenv) bootstrap() string {
	addrs := make([]string, e.c.Len())
	for i := range addrs {
		addrs[i] = e.c.Kafka(i)
	}
	return strings.Join(addrs, ",")
}

// waitFor polls cond until it returns nil, failing the test after
// waitTimeout.
func (e *kenv) waitFor(what string, cond func() error) {
	e.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: not reached after %s: %v", what, waitTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// metadata asks any live node for the metadata of topics (none: all).
func (e *kenv) metadata(topics ...string) (*kmsg.MetadataResponse, error) {
	req := kmsg.NewPtrMetadataRequest()
	for _, name := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(name)
		req.Topics = append(req.Topics, rt)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return req.RequestWith(ctx, e.admin)
}

// partition is topic/p's metadata as a node answers it.
func (e *kenv) partition(topic string, p int32) (kmsg.MetadataResponseTopicPartition, error) {
	m, err := e.metadata(topic)
	if err != nil {
		return kmsg.MetadataResponseTopicPartition{}, err
	}
	if len(m.Topics) != 1 || m.Topics[0].ErrorCode != 0 || int(p) >= len(m.Topics[0].Partitions) {
		return kmsg.MetadataResponseTopicPartition{}, fmt.Errorf("no partition %s/%d: %+v", topic, p, m.Topics)
	}
	return m.Topics[0].Partitions[p], nil
}

// waitInSync waits until every partition of topic has a leader not in
// dead and all its replicas in the ISR.
func (e *kenv) waitInSync(topic string, dead ...int32) {
	e.t.Helper()
	e.waitFor("every replica of "+topic+" in sync", func() error {
		m, err := e.metadata(topic)
		if err != nil {
			return err
		}
		if len(m.Topics) != 1 || m.Topics[0].ErrorCode != 0 || len(m.Topics[0].Partitions) == 0 {
			return fmt.Errorf("topic %s: %+v", topic, m.Topics)
		}
		for _, p := range m.Topics[0].Partitions {
			if p.Leader < 0 || slices.Contains(dead, p.Leader) || len(p.ISR) != len(p.Replicas) {
				return fmt.Errorf("partition %d: leader %d isr %v replicas %v", p.Partition, p.Leader, p.ISR, p.Replicas)
			}
		}
		return nil
	})
}

// index is the harness index of node id.
func (e *kenv) index(id int32) int {
	e.t.Helper()
	for i := range e.c.Len() {
		if e.c.Node(i).ID == id {
			return i
		}
	}
	e.t.Fatalf("no node %d", id)
	return -1
}

// TestKafkaCluster runs the Kafka clients against one three-node cluster:
// kcat, kgo groups, both front doors; the failover subtest, which kills
// nodes, runs last.
func TestKafkaCluster(t *testing.T) {
	e := startCluster(t)
	t.Run("kcat", func(t *testing.T) {
		e.t = t
		dirs := make([]string, e.c.Len())
		for i := range dirs {
			dirs[i] = e.c.DataDir(i)
		}
		runKcat(t, kcatTarget{bootstrap: e.bootstrap(), admin: e.admin, rf: 3, dataDirs: dirs,
			brokers: brokerAddrs(e.c), inSync: func(topic string) { e.waitInSync(topic) }})
	})
	t.Run("cooperative group", func(t *testing.T) { e.t = t; groupsCooperative(t, e) })
	t.Run("front doors", func(t *testing.T) { e.t = t; frontDoors(t, e) })
	// Last: it kills nodes.
	t.Run("failover", func(t *testing.T) { e.t = t; failover(t, e) })
}

// brokerAddrs maps every node id to its Kafka address.
func brokerAddrs(c *clustertest.Cluster) map[int32]string {
	out := map[int32]string{}
	for i := range c.Len() {
		out[c.Node(i).ID] = c.Kafka(i)
	}
	return out
}
