package broker_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

func encode(t *testing.T, values ...string) []byte {
	t.Helper()
	recs := make([]batch.Record, len(values))
	for i, v := range values {
		recs[i] = batch.Record{Timestamp: time.Now().UnixMilli(), Value: []byte(v)}
	}
	b, err := batch.Encode(recs, batch.DefaultEncodeOptions())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, raw []byte) []string {
	t.Helper()
	var out []string
	if err := batch.ForEach(raw, func(r batch.Record) error {
		out = append(out, fmt.Sprintf("%d:%s", r.Offset, r.Value))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func createTopic(t *testing.T, c *clustertest.Cluster, cl *clustertest.Client, name string, partitions int32) {
	t.Helper()
	resp := clustertest.Request[*messages.CreateTopicResponse](t, cl, c.NodePID(0), &messages.CreateTopicRequest{
		Name: name, Partitions: partitions, ReplicationFactor: 1,
	})
	if resp.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("create topic %s: %v %s", name, resp.ErrorCode, resp.ErrorMessage)
	}
}

func produce(t *testing.T, c *clustertest.Cluster, cl *clustertest.Client, topic string, p int32, values ...string) *messages.ProduceResponse {
	t.Helper()
	return clustertest.Request[*messages.ProduceResponse](t, cl, c.ReplicaPID(0, topic, p), &messages.ProduceRequest{
		Topic: topic, Partition: p, Acks: 1, Records: encode(t, values...), LeaderEpoch: -1,
	})
}

func fetch(t *testing.T, c *clustertest.Cluster, cl *clustertest.Client, topic string, p int32, offset int64) *messages.FetchResponse {
	t.Helper()
	return clustertest.Request[*messages.FetchResponse](t, cl, c.ReplicaPID(0, topic, p), &messages.FetchRequest{
		Topic: topic, Partition: p, Offset: offset, MaxBytes: 1 << 20, LeaderEpoch: -1,
	})
}

func TestBrokerSingleNode(t *testing.T) {
	c := clustertest.Start(t, 1)
	cl := clustertest.NewClient(t)

	createTopic(t, c, cl, "orders", 3)
	dup := clustertest.Request[*messages.CreateTopicResponse](t, cl, c.NodePID(0), &messages.CreateTopicRequest{
		Name: "orders", Partitions: 1, ReplicationFactor: 1,
	})
	if dup.ErrorCode != messages.ErrorCode_TOPIC_ALREADY_EXISTS {
		t.Fatalf("duplicate create: %v", dup.ErrorCode)
	}

	md := clustertest.Request[*messages.MetadataResponse](t, cl, c.NodePID(0), &messages.MetadataRequest{Topics: []string{"orders", "nope"}})
	if len(md.Brokers) != 1 || md.Brokers[0].Address != c.Addr(0) || md.ControllerId != 1 || md.ClusterId == "" {
		t.Fatalf("metadata brokers %v controller %d cluster %q", md.Brokers, md.ControllerId, md.ClusterId)
	}
	if len(md.Topics) != 2 || len(md.Topics[0].Partitions) != 3 || md.Topics[0].Partitions[0].Leader != 1 {
		t.Fatalf("metadata topics %v", md.Topics)
	}
	if md.Topics[1].ErrorCode != messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION {
		t.Fatalf("unknown topic: %v", md.Topics[1].ErrorCode)
	}

	// Produce with acks=1 and acks=0, then fetch over the remote.
	if r := produce(t, c, cl, "orders", 1, "a", "b"); r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != 0 {
		t.Fatalf("produce: %v %s base %d", r.ErrorCode, r.ErrorMessage, r.BaseOffset)
	}
	cl.Send(c.ReplicaPID(0, "orders", 1), &messages.ProduceRequest{Topic: "orders", Partition: 1, Acks: 0, Records: encode(t, "c"), LeaderEpoch: -1})
	waitFor(t, func() error {
		f := fetch(t, c, cl, "orders", 1, 0)
		if got := fmt.Sprint(decode(t, f.Records)); f.HighWatermark != 3 || !strings.Contains(got, "0:a") {
			return fmt.Errorf("fetch: hw %d records %s", f.HighWatermark, got)
		}
		return nil
	})
	if got := fmt.Sprint(decode(t, fetch(t, c, cl, "orders", 1, 2).Records)); got != "[2:c]" {
		t.Fatalf("fetch at 2: %s", got)
	}
	lo := clustertest.Request[*messages.ListOffsetsResponse](t, cl, c.ReplicaPID(0, "orders", 1), &messages.ListOffsetsRequest{Topic: "orders", Partition: 1, Timestamp: -1, LeaderEpoch: -1})
	if lo.Offset != 3 {
		t.Fatalf("latest offset %d, want 3", lo.Offset)
	}
	// A request routed through the node guardian reaches the replica; an
	// unknown partition is refused with the paired response.
	viaNode := clustertest.Request[*messages.PartitionStatusResponse](t, cl, c.NodePID(0), &messages.PartitionStatusRequest{Topic: "orders", Partition: 1})
	if viaNode.HighWatermark != 3 || !viaNode.Leader {
		t.Fatalf("status via node: %+v", viaNode)
	}
	unknown := clustertest.Request[*messages.ProduceResponse](t, cl, c.NodePID(0), &messages.ProduceRequest{Topic: "nope", Acks: 1})
	if unknown.ErrorCode != messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION {
		t.Fatalf("produce to unknown topic via node: %v", unknown.ErrorCode)
	}
	if _, err := cl.Request(c.ReplicaPID(0, "nope", 0), &messages.FetchRequest{Topic: "nope"}); !errors.Is(err, actor.ErrDeadLetter) {
		t.Fatalf("fetch from a missing replica: %v, want dead letter", err)
	}

	// Restart: topics and data come back.
	c.Restart(0)
	if got := fmt.Sprint(decode(t, fetch(t, c, cl, "orders", 1, 0).Records)); !strings.HasPrefix(got, "[0:a 1:b") {
		t.Fatalf("after restart fetched %s", got)
	}
	if r := produce(t, c, cl, "orders", 1, "d"); r.BaseOffset != 3 {
		t.Fatalf("produce after restart: base %d (%v)", r.BaseOffset, r.ErrorCode)
	}

	// Delete: the replicas stop and their data goes.
	del := clustertest.Request[*messages.DeleteTopicResponse](t, cl, c.NodePID(0), &messages.DeleteTopicRequest{Name: "orders"})
	if del.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("delete: %v %s", del.ErrorCode, del.ErrorMessage)
	}
	waitFor(t, func() error {
		if _, err := os.Stat(filepath.Join(c.DataDir(0), "orders-1")); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("orders-1 still on disk: %v", err)
		}
		if _, err := cl.Request(c.ReplicaPID(0, "orders", 1), &messages.FetchRequest{Topic: "orders", Partition: 1}); !errors.Is(err, actor.ErrDeadLetter) {
			return fmt.Errorf("replica still answers after delete: %v", err)
		}
		return nil
	})
	// The name is free again.
	createTopic(t, c, cl, "orders", 1)
	if r := produce(t, c, cl, "orders", 0, "fresh"); r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != 0 {
		t.Fatalf("produce to re-created topic: %v base %d", r.ErrorCode, r.BaseOffset)
	}

	// SIGTERM: exit 0 with every log closed cleanly.
	if err := c.Stop(0); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, c.Log(0))
	}
	if _, err := os.Stat(filepath.Join(c.DataDir(0), "orders-0", commitlog.CleanShutdownFile)); err != nil {
		t.Fatalf("no clean-shutdown marker: %v", err)
	}
}

func TestBrokerMessageTooLarge(t *testing.T) {
	c := clustertest.Start(t, 1)
	cl := clustertest.NewClient(t)
	createTopic(t, c, cl, "big", 1)
	// 2 MiB: over max.message.bytes (1 MiB), under the 8 MiB request limit.
	big := produce(t, c, cl, "big", 0, string(bytes.Repeat([]byte("x"), 2<<20)))
	if big.ErrorCode != messages.ErrorCode_MESSAGE_TOO_LARGE {
		t.Fatalf("2 MiB produce: %v %s", big.ErrorCode, big.ErrorMessage)
	}
	// The connection survived.
	if r := produce(t, c, cl, "big", 0, "small"); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("produce after refusal: %v %s", r.ErrorCode, r.ErrorMessage)
	}
}

func TestBrokerStartupErrors(t *testing.T) {
	bin := filepath.Join(clustertest.BuildBinaries(t), "sluiced")
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	badYAML := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badYAML, []byte("log:\n  flush_policy: sometimes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"data dir is a file", []string{"--data-dir", file}, "not a directory"},
		{"data dir parent missing", []string{"--data-dir", filepath.Join(dir, "missing", "data")}, "unusable data dir"},
		{"bad log level", []string{"--data-dir", filepath.Join(dir, "d1"), "--log-level", "loud"}, "log_level"},
		{"bad listen", []string{"--data-dir", filepath.Join(dir, "d2"), "--listen", "nowhere"}, "listen"},
		{"bad config value", []string{"--data-dir", filepath.Join(dir, "d3"), "--config", badYAML}, "flush_policy"},
		{"missing config file", []string{"--config", filepath.Join(dir, "none.yaml")}, "read config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, append(tt.args, "--listen", "127.0.0.1:0", "--http", "127.0.0.1:0", "--kafka-listen", "127.0.0.1:0")...)
			if tt.name == "bad listen" {
				cmd = exec.Command(bin, append(tt.args, "--http", "127.0.0.1:0", "--kafka-listen", "127.0.0.1:0")...)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("exit: %v, want a non-zero exit code; stderr:\n%s", err, stderr.String())
			}
			out := strings.TrimSpace(stderr.String())
			if strings.Count(out, "\n") != 0 || !strings.Contains(out, tt.want) || !strings.HasPrefix(out, "sluiced: ") {
				t.Fatalf("stderr %q: want one line mentioning %q", out, tt.want)
			}
		})
	}
}

func waitFor(t *testing.T, check func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBrokerKillRecoversAndLongPolls(t *testing.T) {
	c := clustertest.Start(t, 1)
	cl := clustertest.NewClient(t)
	createTopic(t, c, cl, "events", 1)
	for i := range 5 {
		if r := produce(t, c, cl, "events", 0, fmt.Sprint(i)); r.ErrorCode != messages.ErrorCode_NONE {
			t.Fatalf("produce %d: %v", i, r.ErrorCode)
		}
	}
	// SIGKILL: no clean shutdown; the log is recovered on start.
	c.Kill(0)
	c.StartNode(0)
	if got := len(decode(t, fetch(t, c, cl, "events", 0, 0).Records)); got != 5 {
		t.Fatalf("after kill fetched %d records, want 5", got)
	}
	// A long poll from this process parks in the broker and is answered
	// over the remote when a record arrives.
	parked := cl.System.Root.RequestFuture(c.ReplicaPID(0, "events", 0), &messages.FetchRequest{
		Topic: "events", Offset: 5, MaxBytes: 1 << 20, MinBytes: 1, MaxWaitMs: 60_000, LeaderEpoch: -1,
	}, clustertest.RequestTimeout)
	// The parked fetch is queued ahead of the produce on the same
	// connection, so the produce wakes it.
	produce(t, c, cl, "events", 0, "late")
	res, err := parked.Result()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(decode(t, res.(*messages.FetchResponse).Records)); got != "[5:late]" {
		t.Fatalf("long poll got %s", got)
	}
}
