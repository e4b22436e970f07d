package integration

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/cluster/consul/consultest"
	"github.com/sluice-mq/sluice/cluster/identity"
)

// identityRecords is how many acks=all records each identity test writes.
const identityRecords = 300

// produceN produces n acks=all records round-robin over parts partitions
// of topic and returns the acknowledgements.
func produceN(t *testing.T, e *env, topic string, parts int32, n int) []acked {
	t.Helper()
	p, err := client.NewProducer(e.cl, client.ProducerConfig{Acks: client.AcksAll})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	out := make([]acked, 0, n)
	for i := range n {
		part := int32(i) % parts
		value := fmt.Sprintf("rec-%d", i)
		_, off, err := p.Produce(e.ctx(), &client.Record{Topic: topic, Partition: part, Value: []byte(value)})
		if err != nil {
			t.Fatalf("produce %q: %v", value, err)
		}
		out = append(out, acked{Stream: "rec", Seq: i, Partition: part, Offset: off, Value: value})
	}
	return out
}

// partitionFiles lists every file under dataDir's partition directories
// with its size: what a refused start must leave untouched.
func partitionFiles(t *testing.T, dataDir string) map[string]int64 {
	t.Helper()
	out := make(map[string]int64)
	err := filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dataDir, path)
		top := strings.Split(rel, string(filepath.Separator))[0]
		if top == "metadata" || d.IsDir() || !strings.Contains(top, "-") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[rel] = info.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestClusterRefusesEmptyMetadataStoreThenRecovers: three nodes with an
// RF 3 topic written with acks=all are stopped, the Consul dev agent
// restarts empty (a lost store, or the wrong --consul), and the nodes
// start again: each refuses to start, naming its cluster id and the
// store's lack of one, and no file of any replica is removed or changed.
// Started with --recover-metadata (the documented step), the cluster
// serves every acknowledged record again and takes new ones.
func TestClusterRefusesEmptyMetadataStoreThenRecovers(t *testing.T) {
	e := startEnv(t)
	const parts = 3
	if _, err := e.cl.CreateTopic(e.ctx(), topic, parts, 3, nil); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	e.waitInSync(topic)
	acks := produceN(t, e, topic, parts, identityRecords)
	e.waitInSync(topic)

	before := make([]map[string]int64, e.c.Len())
	ids := make([]identity.Identity, e.c.Len())
	for i := range e.c.Len() {
		if err := e.c.Stop(i); err != nil {
			t.Fatalf("stop node %d: %v", i, err)
		}
		before[i] = partitionFiles(t, e.c.DataDir(i))
		if len(before[i]) == 0 {
			t.Fatalf("node %d has no replica files", i)
		}
		id, err := identity.Read(e.c.DataDir(i))
		if err != nil {
			t.Fatalf("node %d identity: %v", i, err)
		}
		ids[i] = id
	}
	e.agent.Restart()
	for i := range e.c.Len() {
		if code := e.c.StartExpectExit(i); code == 0 {
			t.Fatalf("node %d exited 0 on an empty metadata store", i)
		}
		log := e.c.Log(i)
		for _, want := range []string{ids[i].ClusterID, "no cluster id", "--recover-metadata"} {
			if !strings.Contains(log, want) {
				t.Errorf("node %d refusal does not mention %q:\n%s", i, want, log)
			}
		}
		if after := partitionFiles(t, e.c.DataDir(i)); !maps.Equal(before[i], after) {
			t.Errorf("node %d replica files changed by a refused start:\nbefore %v\nafter  %v", i, before[i], after)
		}
	}
	if t.Failed() {
		return
	}

	e.c.SetFlags(func(int) []string {
		return []string{
			"--consul", e.agent.Addr(), "--consul-check-ttl", checkTTL,
			"--replica-lag-time", replicaLagTime, "--recover-metadata",
		}
	})
	for i := range e.c.Len() {
		e.c.StartNode(i)
	}
	e.waitInSync(topic)
	e.verify(topic, parts, acks)
	more := produceN(t, e, topic, parts, parts)
	if more[0].Offset != acks[0].Offset+int64(identityRecords/parts) {
		t.Fatalf("first record after recovery at offset %d, want %d", more[0].Offset, identityRecords/parts)
	}
}

// TestNodeWithWrongConsulRemovesNoData: a single node restarted against
// another (empty) Consul agent refuses to start and keeps every file; back
// on its own agent it serves every record again.
func TestNodeWithWrongConsulRemovesNoData(t *testing.T) {
	agent := consultest.Start(t)
	other := consultest.Start(t)
	consul := agent.Addr()
	c := clustertest.Start(t, 1, clustertest.WithFlags(func(int) []string {
		return []string{"--consul", consul, "--consul-check-ttl", checkTTL}
	}))
	cl, err := client.New(context.Background(), client.Config{Seeds: []string{c.Addr(0)}, RequestTimeout: requestTimeout, MaxRetries: 30})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, agent: agent, c: c, cl: cl}
	if _, err := cl.CreateTopic(e.ctx(), topic, 2, 1, nil); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	acks := produceN(t, e, topic, 2, identityRecords)
	if err := c.Stop(0); err != nil {
		t.Fatal(err)
	}
	before := partitionFiles(t, c.DataDir(0))

	consul = other.Addr()
	if code := c.StartExpectExit(0); code == 0 {
		t.Fatal("node exited 0 against an empty Consul")
	}
	if log := c.Log(0); !strings.Contains(log, "no cluster id") {
		t.Fatalf("refusal not explained:\n%s", log)
	}
	if after := partitionFiles(t, c.DataDir(0)); !maps.Equal(before, after) {
		t.Fatalf("replica files changed by a refused start:\nbefore %v\nafter  %v", before, after)
	}

	consul = agent.Addr()
	c.StartNode(0)
	e.verify(topic, 2, acks)
}

// TestSecondSluicedOnOneDataDirRefused: a second sluiced on a data dir in
// use exits non-zero naming the lock file; the first keeps running.
func TestSecondSluicedOnOneDataDirRefused(t *testing.T) {
	c := clustertest.Start(t, 1)
	bin := filepath.Join(clustertest.BuildBinaries(t), "sluiced")
	cmd := exec.Command(bin, "--data-dir", c.DataDir(0), "--listen", "127.0.0.1:0", "--http", "", "--kafka-listen", "127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("second sluiced: %v, want a non-zero exit\n%s", err, out)
	}
	lock := filepath.Join(c.DataDir(0), identity.LockFileName)
	if !strings.Contains(string(out), lock) {
		t.Fatalf("second sluiced's error does not name the lock file %s:\n%s", lock, out)
	}
	if !c.Running(0) {
		t.Fatal("the first sluiced stopped")
	}
	if _, err := os.Stat(lock); err != nil {
		t.Fatal(err)
	}
}
