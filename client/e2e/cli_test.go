package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// cliRun runs the sluice binary against the cluster and returns its exit
// code and output.
func cliRun(t *testing.T, c *clustertest.Cluster, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.CommandContext(testCtx(t), sluiceBinary(t), append([]string{"--brokers", c.Addr(0)}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("sluice %v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

// cliOK runs sluice and fails the test unless it exits 0.
func cliOK(t *testing.T, c *clustertest.Cluster, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := cliRun(t, c, stdin, args...)
	if code != 0 {
		t.Fatalf("sluice %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
	}
	return out
}

func TestCLIEndToEnd(t *testing.T) {
	c := clustertest.Start(t, 1)

	out := cliOK(t, c, "", "topic", "create", "lines", "--partitions", "2", "--config", "retention.ms=3600000")
	if !strings.Contains(out, "created topic lines") {
		t.Fatalf("create said %q", out)
	}

	// Keyed lines from stdin; the key picks the partition.
	var in strings.Builder
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&in, "k%d:value %d\n", i%10, i)
	}
	cliOK(t, c, in.String(), "produce", "lines", "--key-separator", ":", "--acks", "all", "--compression", "lz4")

	// A file, with the progress bar on stderr.
	file := filepath.Join(t.TempDir(), "records.txt")
	if err := os.WriteFile(file, []byte("from file 1\nfrom file 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cliOK(t, c, "", "produce", "lines", "--file", file, "--partition", "1")

	out = cliOK(t, c, "", "consume", "lines", "--from-beginning", "--max-messages", "102", "--print-key", "--key-separator", "=")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 102 {
		t.Fatalf("consumed %d lines, want 102:\n%s", len(lines), out)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		seen[l] = true
	}
	if !seen["k3=value 13"] || !seen["=from file 2"] {
		t.Fatalf("missing records in:\n%s", out)
	}

	out = cliOK(t, c, "", "consume", "lines", "--partition", "1", "--offset", "0", "--timeout", "500ms", "--format", "json")
	var count int
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec struct {
			Partition int32   `json:"partition"`
			Offset    int64   `json:"offset"`
			Value     *string `json:"value"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.Partition != 1 || rec.Offset != int64(count) || rec.Value == nil {
			t.Fatalf("json line %q: %v", l, err)
		}
		count++
	}

	out = cliOK(t, c, "", "topic", "describe", "lines", "-o", "json")
	var d client.TopicDescription
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("describe -o json: %v\n%s", err, out)
	}
	var total int64
	for _, p := range d.Partitions {
		total += p.LogEndOffset
	}
	if d.Name != "lines" || len(d.Partitions) != 2 || total != 102 || int64(count) != d.Partitions[1].LogEndOffset ||
		d.Configs["retention.ms"] != "3600000" {
		t.Fatalf("describe: %+v (partition 1 consumed %d)", d, count)
	}

	out = cliOK(t, c, "", "topic", "list")
	if !strings.HasPrefix(out, "TOPIC") || !strings.Contains(out, "lines") {
		t.Fatalf("topic list:\n%s", out)
	}
	out = cliOK(t, c, "", "topic", "list", "-o", "json")
	var topics []client.TopicInfo
	if err := json.Unmarshal([]byte(out), &topics); err != nil || len(topics) != 1 {
		t.Fatalf("topic list -o json: %v\n%s", err, out)
	}
	out = cliOK(t, c, "", "cluster", "status", "-o", "json")
	var st struct {
		Partitions int `json:"partitions"`
		Brokers    []struct {
			Address string `json:"address"`
		} `json:"brokers"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Partitions != 2 || len(st.Brokers) != 1 || st.Brokers[0].Address != c.Addr(0) {
		t.Fatalf("cluster status: %v\n%s", err, out)
	}
	cliOK(t, c, "", "topic", "alter", "lines", "--config", "retention.ms=60000")
	cliOK(t, c, "", "topic", "add-partitions", "lines", "--partitions", "3")
	// Two producers share --records; unpaced, the latency is labelled as
	// including queueing.
	out = cliOK(t, c, "", "bench", "produce", "--topic", "bench", "--partitions", "3", "--records", "2001", "--record-size", "100",
		"--producers", "2", "-o", "json")
	var bench struct {
		Records    int64 `json:"records"`
		Producers  int   `json:"producers"`
		Consumers  int   `json:"consumers"`
		Queueing   bool  `json:"latency_includes_queueing"`
		Partitions int   `json:"partitions"`
		ReachedEnd bool  `json:"reached_end"`
	}
	if err := json.Unmarshal([]byte(out), &bench); err != nil || bench.Records != 2001 || bench.Producers != 2 || !bench.Queueing {
		t.Fatalf("bench produce: %v\n%s", err, out)
	}
	if out = cliOK(t, c, "", "bench", "produce", "--topic", "bench", "--records", "10"); !strings.Contains(out, "including queueing") {
		t.Fatalf("unpaced bench produce does not say its latency includes queueing:\n%s", out)
	}
	// Consume reads up to the end offsets of its start and stops there,
	// with no idle second to wait for.
	out = cliOK(t, c, "", "bench", "consume", "--topic", "bench", "--consumers", "2", "-o", "json")
	if err := json.Unmarshal([]byte(out), &bench); err != nil || bench.Records != 2011 || bench.Consumers != 2 ||
		bench.Partitions != 3 || !bench.ReachedEnd {
		t.Fatalf("bench consume: %v\n%s", err, out)
	}
	out = cliOK(t, c, "", "bench", "consume", "--topic", "bench", "--records", "100", "-o", "json")
	if err := json.Unmarshal([]byte(out), &bench); err != nil || bench.Records < 100 {
		t.Fatalf("bench consume --records 100: %v\n%s", err, out)
	}
	cliOK(t, c, "", "topic", "delete", "lines")

	// Failures: exit 1 with one line naming the Kafka error; usage: 2.
	failures := []struct {
		args []string
		want string
		code int
	}{
		{[]string{"topic", "describe", "lines"}, "UNKNOWN_TOPIC_OR_PARTITION", 1},
		{[]string{"topic", "create", "bench"}, "TOPIC_ALREADY_EXISTS", 1},
		{[]string{"topic", "create", "bad name"}, "INVALID_TOPIC_EXCEPTION", 1},
		{[]string{"topic", "create", "p0", "--partitions", "0"}, "INVALID_PARTITIONS", 1},
		{[]string{"consume", "missing", "--timeout", "1s"}, "UNKNOWN_TOPIC_OR_PARTITION", 1},
		{[]string{"produce", "bench", "--partition", "9"}, "UNKNOWN_TOPIC_OR_PARTITION", 1},
		{[]string{"topic", "create"}, "accepts 1 arg", 2},
	}
	for _, f := range failures {
		stdin := ""
		if f.args[0] == "produce" {
			stdin = "x\n"
		}
		code, stdout, stderr := cliRun(t, c, stdin, f.args...)
		if code != f.code || !strings.Contains(stderr, f.want) {
			t.Errorf("sluice %v: exit %d, stderr %q; want exit %d and %s", f.args, code, stderr, f.code, f.want)
		}
		if f.code == 1 && (strings.Count(strings.TrimSpace(stderr), "\n") != 0 || strings.Contains(stderr, "Usage") || stdout != "") {
			t.Errorf("sluice %v: want one line on stderr and nothing on stdout, got %q / %q", f.args, stderr, stdout)
		}
	}
}

// TestCLIBenchProduceBreakdown: bench produce --breakdown, paced, reports
// every stage of every request (flush.policy always and acks all: the
// leader waits for the fsync and the ISR), the broker's total within the
// round trip, and the end-to-end ack of every record; the text output
// has a line per stage.
func TestCLIBenchProduceBreakdown(t *testing.T) {
	c := clustertest.Start(t, 1)
	cliOK(t, c, "", "topic", "create", "stages", "--config", "flush.policy=always")
	out := cliOK(t, c, "", "bench", "produce", "--topic", "stages", "--records", "1000", "--rate", "2000", "--linger", "1ms",
		"--acks", "all", "--breakdown", "-o", "json")
	type stats struct {
		Count int64   `json:"count"`
		P50   float64 `json:"p50_ms"`
		P99   float64 `json:"p99_ms"`
		Max   float64 `json:"max_ms"`
	}
	var res struct {
		Records   int64            `json:"records"`
		Breakdown map[string]stats `json:"breakdown"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Records != 1000 {
		t.Fatalf("bench produce --breakdown: %v\n%s", err, out)
	}
	requests := res.Breakdown["round_trip"].Count
	if requests < 1 || requests > 1000 || res.Breakdown["end_to_end_ack"].Count != 1000 {
		t.Fatalf("%d requests, %d records acknowledged:\n%s", requests, res.Breakdown["end_to_end_ack"].Count, out)
	}
	for _, stage := range []string{"client_queue", "remote_and_mailbox", "broker_append", "broker_flush", "broker_replicate", "broker_total"} {
		st, ok := res.Breakdown[stage]
		if !ok || st.Count != requests || st.P50 < 0 || st.P99 < st.P50 || st.Max < st.P99 {
			t.Errorf("%s: %+v (present %v), want %d requests and ordered quantiles", stage, st, ok, requests)
		}
	}
	// The broker's total is inside each round trip, so is each quantile.
	total, trip := res.Breakdown["broker_total"], res.Breakdown["round_trip"]
	if total.P50 > trip.P50 || total.P99 > trip.P99 || total.Max > trip.Max {
		t.Errorf("broker total %+v exceeds the round trip %+v", total, trip)
	}

	out = cliOK(t, c, "", "bench", "produce", "--topic", "stages", "--records", "200", "--rate", "1000", "--breakdown")
	for _, label := range []string{"client queue", "remote + mailbox", "broker append", "broker flush", "broker replicate",
		"broker total", "round trip", "end-to-end ack"} {
		if !strings.Contains(out, label) {
			t.Errorf("no %q line in:\n%s", label, out)
		}
	}
	// acks 1 (bench produce's default) waits for no follower.
	if !strings.Contains(out, "not waited for") {
		t.Errorf("acks=1 output shows a replicate stage:\n%s", out)
	}
}
