package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/broker"
	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/cluster/clustertest/workload"
	"github.com/sluice-mq/sluice/cluster/consul/consultest"
	"github.com/sluice-mq/sluice/messages"
)

// Timing of the test cluster: short enough that a dead node is noticed in
// about a second, long enough for a shared 2-CPU machine under -race.
const (
	checkTTL       = "1s"
	replicaLagTime = "3s"
	// waitTimeout bounds every wait for the cluster to converge.
	waitTimeout = 60 * time.Second
	// requestTimeout bounds one client request (produce with acks=all
	// included).
	requestTimeout = 5 * time.Second
)

// env is the cluster under test: three nodes, their Consul agent and the
// test process's one client.
type env struct {
	t     *testing.T
	agent *consultest.Agent
	c     *clustertest.Cluster
	cl    *client.Client
}

// startEnv starts the cluster; extra flags are added to every node's.
func startEnv(t *testing.T, extra ...string) *env {
	t.Helper()
	agent := consultest.Start(t)
	c := clustertest.Start(t, 3, clustertest.WithFlags(func(int) []string {
		return append([]string{
			"--consul", agent.Addr(),
			"--consul-check-ttl", checkTTL,
			"--replica-lag-time", replicaLagTime,
		}, extra...)
	}))
	seeds := make([]string, c.Len())
	for i := range seeds {
		seeds[i] = c.Addr(i)
	}
	cl, err := client.New(context.Background(), client.Config{
		Seeds:          seeds,
		RequestTimeout: requestTimeout,
		MaxRetries:     30,
	})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	// The client is not closed: protoactor's remote shutdown writes
	// endpoint-manager state that earlier sends read without
	// synchronisation, which -race reports. The process exits right
	// after this test anyway.
	e := &env{t: t, agent: agent, c: c, cl: cl}
	e.waitFor("three brokers and a controller", func() error {
		md, err := e.metadata()
		if err != nil {
			return err
		}
		if len(md.Brokers) != 3 || md.ControllerID < 0 {
			return fmt.Errorf("brokers %v, controller %d", md.Brokers, md.ControllerID)
		}
		return nil
	})
	return e
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

func (e *env) metadata() (client.Metadata, error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	return e.cl.Metadata(ctx)
}

// index returns the harness index of node id.
func (e *env) index(id int32) int {
	e.t.Helper()
	for i := range e.c.Len() {
		if e.c.Node(i).ID == id {
			return i
		}
	}
	e.t.Fatalf("no node %d", id)
	return -1
}

// partition returns the current metadata of topic/p.
func (e *env) partition(topic string, p int32) (client.PartitionInfo, error) {
	md, err := e.metadata()
	if err != nil {
		return client.PartitionInfo{}, err
	}
	for _, t := range md.Topics {
		if t.Name == topic && int(p) < len(t.Partitions) {
			return t.Partitions[p], nil
		}
	}
	return client.PartitionInfo{}, fmt.Errorf("no partition %s/%d in metadata", topic, p)
}

// leaderOf waits until topic/p has a live leader and returns it.
func (e *env) leaderOf(topic string, p int32) client.PartitionInfo {
	e.t.Helper()
	var info client.PartitionInfo
	e.waitFor(fmt.Sprintf("a leader for %s/%d", topic, p), func() error {
		var err error
		info, err = e.partition(topic, p)
		if err == nil && info.Leader < 0 {
			err = fmt.Errorf("no leader (epoch %d, isr %v)", info.LeaderEpoch, info.ISR)
		}
		return err
	})
	return info
}

// waitNoLeader waits until no partition of topic is led by node id and
// every one has a leader.
func (e *env) waitLeadersOff(topic string, dead ...int32) {
	e.t.Helper()
	e.waitFor(fmt.Sprintf("leaders of %s off nodes %v", topic, dead), func() error {
		md, err := e.metadata()
		if err != nil {
			return err
		}
		for _, t := range md.Topics {
			if t.Name != topic {
				continue
			}
			for _, p := range t.Partitions {
				if p.Leader < 0 || slices.Contains(dead, p.Leader) {
					return fmt.Errorf("partition %d led by %d (epoch %d, isr %v)", p.Partition, p.Leader, p.LeaderEpoch, p.ISR)
				}
			}
			return nil
		}
		return fmt.Errorf("no topic %s", topic)
	})
}

// waitInSync waits until every partition of topic has its whole replica
// set in the ISR and a leader: restarted nodes have caught up.
func (e *env) waitInSync(topic string) {
	e.t.Helper()
	e.waitFor(fmt.Sprintf("every replica of %s in sync", topic), func() error {
		md, err := e.metadata()
		if err != nil {
			return err
		}
		for _, t := range md.Topics {
			if t.Name != topic {
				continue
			}
			for _, p := range t.Partitions {
				if p.Leader < 0 || len(p.ISR) != len(p.Replicas) {
					return fmt.Errorf("partition %d: leader %d isr %v replicas %v", p.Partition, p.Leader, p.ISR, p.Replicas)
				}
			}
			return nil
		}
		return fmt.Errorf("no topic %s", topic)
	})
}

// healthz returns node i's /healthz status and body.
func (e *env) healthz(i int) (int, string, error) {
	hc := &http.Client{Timeout: 2 * time.Second}
	resp, err := hc.Get("http://" + e.c.HTTP(i) + "/healthz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// clusterStatus returns node i's GET /cluster.
func (e *env) clusterStatus(i int) (broker.ClusterStatus, error) {
	var st broker.ClusterStatus
	hc := &http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + e.c.HTTP(i) + "/cluster")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET /cluster: HTTP %d", resp.StatusCode)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// sluice runs the sluice CLI (built once per test binary) against the
// cluster and returns its combined output.
func (e *env) sluice(args ...string) (string, error) {
	e.t.Helper()
	path := clustertest.BuildCLI(e.t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	full := append([]string{"--brokers", e.c.Addr(0) + "," + e.c.Addr(1) + "," + e.c.Addr(2)}, args...)
	out, err := exec.CommandContext(ctx, path, full...).CombinedOutput()
	return string(out), err
}

// acked is one acknowledged record of the workload producer.
type acked = workload.Ack

// readAll consumes topic/p from the log start up to its current end and
// returns value by offset.
func (e *env) readAll(topic string, p int32) map[int64]string {
	e.t.Helper()
	log, err := workload.ReadPartition(e.ctx(), e.cl, topic, p)
	if err != nil {
		e.t.Fatal(err)
	}
	return log
}

// verify checks every acknowledged record against the partition logs.
func (e *env) verify(topic string, parts int32, acks []acked) {
	e.t.Helper()
	workload.Verify(e.t, e.ctx(), e.cl, topic, parts, acks)
}

// isNotEnoughReplicas reports a refusal for too small an ISR.
func isNotEnoughReplicas(err error) bool {
	return err != nil && errors.Is(err, messages.ErrNotEnoughReplicas)
}
