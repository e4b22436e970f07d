package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/cluster/clustertest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newClient is a kgo client of the cluster's Kafka listeners, closed at
// the end of the test.
func newClient(t *testing.T, c *clustertest.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	seeds := make([]string, c.Len())
	for i := range seeds {
		seeds[i] = c.Kafka(i)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// newClientAt is a kgo client of one Kafka listener.
func newClientAt(t *testing.T, addr string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// createTopic creates topic through the Kafka CreateTopics request.
func createTopic(t *testing.T, cl *kgo.Client, topic string, partitions int32, configs map[string]string) {
	t.Helper()
	createTopicRF(t, cl, topic, partitions, 1, configs)
}

// createTopicRF is createTopic with rf replicas per partition.
func createTopicRF(t *testing.T, cl *kgo.Client, topic string, partitions int32, rf int16, configs map[string]string) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, rf
	for k, v := range configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	req.TimeoutMillis = 10000
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create topic %s: %+v", topic, resp.Topics)
	}
}

var cli struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// sluiceBinary builds cmd/sluice once, next to the harness's sluiced.
func sluiceBinary(t *testing.T) string {
	t.Helper()
	cli.once.Do(func() {
		cli.path = filepath.Join(clustertest.BuildBinaries(t), "sluice")
		cli.out, cli.err = exec.Command("go", "build", "-o", cli.path, "github.com/sluice-mq/sluice/cmd/sluice").CombinedOutput()
	})
	if cli.err != nil {
		t.Fatalf("build sluice: %v\n%s", cli.err, cli.out)
	}
	return cli.path
}
