package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/client/admin"
	"github.com/sluice-mq/sluice/cluster/metadata"
)

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code = run(ctx, args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCLIUsageErrorsExitTwo(t *testing.T) {
	cases := [][]string{
		{"topic", "create"},                 // missing topic
		{"topic", "list", "--bogus"},        // unknown flag
		{"topic", "list", "-o", "yaml"},     // bad output format
		{"consume", "t", "--format", "xml"}, // bad record format
		{"produce", "t", "--acks", "2"},     // bad acks
		{"produce", "t", "--compression", "brotli"},
		{"topic", "create", "t", "--config", "novalue"},
		{"topic", "alter", "t"}, // nothing to alter
		{"topic", "add-partitions", "t"},
	}
	for _, args := range cases {
		code, _, stderr := runCLI(t, "", args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, stderr)
		}
		if !strings.Contains(stderr, "sluice: ") {
			t.Errorf("%v: no reason on stderr: %q", args, stderr)
		}
	}
}

func TestCLIRuntimeErrorExitsOneWithOneLine(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "--brokers", "127.0.0.1:1", "--request-timeout", "300ms", "topic", "list")
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if stdout != "" || strings.Contains(stderr, "Usage:") {
		t.Fatalf("runtime error printed usage or output: %q %q", stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if last != "sluice: cannot reach broker 127.0.0.1:1: connection refused" {
		t.Fatalf("reason line %q", last)
	}
}

func TestCLIParseConfigs(t *testing.T) {
	m, err := parseConfigs([]string{"retention.ms=1000", " cleanup.policy =compact", "empty="})
	if err != nil {
		t.Fatal(err)
	}
	if m["retention.ms"] != "1000" || m["cleanup.policy"] != "compact" || m["empty"] != "" || len(m) != 3 {
		t.Fatalf("parsed %v", m)
	}
	for _, bad := range []string{"x", "=v"} {
		if _, err := parseConfigs([]string{bad}); err == nil {
			t.Errorf("parseConfigs(%q) succeeded", bad)
		}
	}
}

func TestCLIHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCLITopicTables(t *testing.T) {
	var out bytes.Buffer
	a := &app{stdout: &out}
	err := topicsTable(a, []client.TopicInfo{
		{Name: "orders", Partitions: []client.PartitionInfo{
			{Partition: 0, Leader: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}},
			{Partition: 1, Leader: -1, Replicas: []int32{1, 2}, ISR: []int32{2}},
		}},
		{Name: "a-much-longer-topic-name", Partitions: []client.PartitionInfo{{Leader: 2, Replicas: []int32{2}, ISR: []int32{2}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("table:\n%s", out.String())
	}
	// Rows are sorted by name and aligned: PARTITIONS starts at the same
	// place in every row.
	if !strings.HasPrefix(lines[1], "a-much-longer-topic-name ") || !strings.HasPrefix(lines[2], "orders ") {
		t.Fatalf("rows not sorted by name:\n%s", out.String())
	}
	col := strings.Index(lines[0], "PARTITIONS")
	if !strings.HasPrefix(lines[1][col:], "1 ") || !strings.HasPrefix(lines[2][col:], "2 ") {
		t.Fatalf("misaligned table:\n%s", out.String())
	}
	if f := strings.Fields(lines[2]); f[2] != "2" || f[3] != "1" || f[4] != "1" {
		t.Fatalf("orders row %q: want rf 2, 1 under-replicated, 1 offline", lines[2])
	}

	out.Reset()
	err = describeTable(a, client.TopicDescription{Name: "orders", Configs: map[string]string{"retention.ms": "1"},
		Defaults: map[string]string{"segment.bytes": "1234", "cleanup.policy": "delete"},
		Partitions: []client.PartitionStatus{
			{PartitionInfo: client.PartitionInfo{Partition: 0, Leader: 1, Replicas: []int32{1}, ISR: []int32{1}},
				LogStartOffset: 3, LogEndOffset: 10, HighWatermark: 9, SizeBytes: 2048},
			{PartitionInfo: client.PartitionInfo{Partition: 1, Leader: -1}, Err: errors.New("no leader")},
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Topic: orders  Partitions: 2", "2.0 KiB", "none", "no leader"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("describe output lacks %q:\n%s", want, out.String())
		}
	}
	// Every config, effective, with its source.
	sources := map[string][]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			sources[f[0]] = f[1:]
		}
	}
	for name, want := range map[string][]string{
		"retention.ms":   {"1", "topic"},
		"segment.bytes":  {"1234", "node"},
		"cleanup.policy": {"delete", "default"},
	} {
		if got := sources[name]; !slices.Equal(got, want) {
			t.Errorf("describe: %s is %q, want %q:\n%s", name, got, want, out.String())
		}
	}
	for _, name := range metadata.ConfigNames() {
		if _, ok := sources[name]; !ok {
			t.Errorf("describe does not list %s:\n%s", name, out.String())
		}
	}
}

func TestCLIClusterStatusCounts(t *testing.T) {
	st := admin.Summarize(client.Metadata{ClusterID: "c", ControllerID: 2,
		Brokers: []client.Broker{{NodeID: 1, Address: "a:1"}, {NodeID: 2, Address: "b:1"}},
		Topics: []client.TopicInfo{{Name: "t", Partitions: []client.PartitionInfo{
			{Leader: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}},
			{Leader: 2, Replicas: []int32{2, 1}, ISR: []int32{2}},
			{Leader: -1, Replicas: []int32{1}, ISR: nil},
		}}}})
	if st.Partitions != 3 || st.UnderReplicated != 2 || st.Offline != 1 || st.Brokers[0].Leaders != 1 ||
		st.Brokers[0].Replicas != 3 || st.Brokers[1].Replicas != 2 {
		t.Fatalf("status %+v", st)
	}
	// A node that holds replicas but is not live is listed, down.
	st = admin.Summarize(client.Metadata{ControllerID: 1, Brokers: []client.Broker{{NodeID: 1, Address: "a:1"}},
		Topics: []client.TopicInfo{{Name: "t", Partitions: []client.PartitionInfo{
			{Leader: 1, Replicas: []int32{3, 1}, ISR: []int32{1}},
		}}}})
	if len(st.Brokers) != 2 || st.Brokers[0].NodeID != 1 || st.Brokers[0].State != admin.NodeUp ||
		st.Brokers[1].NodeID != 3 || st.Brokers[1].State != admin.NodeDown || st.Brokers[1].Replicas != 1 || st.Brokers[0].Leaders != 1 {
		t.Fatalf("status with a down node: %+v", st)
	}
	topics, hidden := admin.WithoutInternal([]client.TopicInfo{{Name: "__consumer_offsets", Internal: true}, {Name: "t"}})
	if hidden != 1 || len(topics) != 1 || topics[0].Name != "t" {
		t.Fatalf("withoutInternal: %+v, %d hidden", topics, hidden)
	}
}

func TestCLIPrintRecord(t *testing.T) {
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	r := &client.Record{Topic: "t", Partition: 1, Offset: 7, Key: []byte("k"), Value: []byte("v"),
		Headers: []client.RecordHeader{{Key: "h", Value: []byte("x")}}, Timestamp: time.UnixMilli(1234)}
	if err := printRecord(w, r, consumeFlags{format: "text", printKey: true, keySep: "="}); err != nil {
		t.Fatal(err)
	}
	if err := printRecord(w, &client.Record{Topic: "t", Value: []byte("null key")}, consumeFlags{format: "json"}); err != nil {
		t.Fatal(err)
	}
	if err := printRecord(w, r, consumeFlags{format: "json"}); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if lines[0] != "k=v" {
		t.Fatalf("text line %q", lines[0])
	}
	var nullKey, full map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &nullKey); err != nil || nullKey["key"] != nil || nullKey["value"] != "null key" {
		t.Fatalf("json line %q (%v)", lines[1], err)
	}
	if err := json.Unmarshal([]byte(lines[2]), &full); err != nil || full["offset"] != float64(7) ||
		full["timestamp"] != float64(1234) || full["headers"].(map[string]any)["h"] != "x" {
		t.Fatalf("json line %q (%v)", lines[2], err)
	}
}
