package durability

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// waitTimeout bounds every wait for a condition.
const waitTimeout = 60 * time.Second

// startNode starts one sluiced with config (YAML) written to a file.
func startNode(t *testing.T, config string) *clustertest.Cluster {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sluiced.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return clustertest.Start(t, 1, clustertest.WithFlags(func(int) []string { return []string{"--config", path} }))
}

func createTopic(t *testing.T, c *clustertest.Cluster, cl *clustertest.Client, name string, partitions int32, configs map[string]string) {
	t.Helper()
	resp := clustertest.Request[*messages.CreateTopicResponse](t, cl, c.NodePID(0), &messages.CreateTopicRequest{
		Name: name, Partitions: partitions, ReplicationFactor: 1, Configs: configs,
	})
	if resp.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("create topic: %v %s", resp.ErrorCode, resp.ErrorMessage)
	}
	for p := range partitions {
		waitFor(t, fmt.Sprintf("partition %d leads", p), func() error {
			res, err := cl.Request(c.ReplicaPID(0, name, p), &messages.PartitionStatusRequest{Topic: name, Partition: p})
			if err != nil {
				return err
			}
			if st := res.(*messages.PartitionStatusResponse); !st.Leader {
				return fmt.Errorf("status %+v", st)
			}
			return nil
		})
	}
}

// waitFor polls cond until it returns nil or waitTimeout passes.
func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	clustertest.Await(t, waitTimeout, what, cond)
}

// records encodes one batch of n values of size bytes each.
func records(t *testing.T, n, size int) []byte {
	t.Helper()
	recs := make([]batch.Record, n)
	for i := range recs {
		recs[i] = batch.Record{Timestamp: time.Now().UnixMilli(), Value: []byte(strings.Repeat("v", size))}
	}
	b, err := batch.Encode(recs, batch.DefaultEncodeOptions())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// metric reads one unlabelled sample from the node's /metrics.
func metric(t *testing.T, c *clustertest.Cluster, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + c.HTTP(0) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// statusKB reads a "<field>: <n> kB" line of /proc/<pid>/status.
func statusKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}
