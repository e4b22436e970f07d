package broker_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// scrape parses the node's /metrics and returns every sample by name and
// labels (name{k="v",...}, labels sorted; histograms as name_count).
func scrape(t *testing.T, c *clustertest.Cluster, i int) map[string]float64 {
	t.Helper()
	res, err := http.Get("http://" + c.HTTP(i) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	out := make(map[string]float64)
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			key := name
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key+"_count"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// After traffic, /metrics parses and has the per-partition and per-topic
// series with the values the traffic implies, request latency histograms,
// the node's partition gauges, and the group series: a stalled group's lag
// is the log end minus its committed offset, and a live group counts its
// member and its rebalance.
func TestMetricsAfterTraffic(t *testing.T) {
	c := clustertest.Start(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl, err := client.New(ctx, client.Config{Seeds: []string{c.Addr(0)}, RequestTimeout: 5 * time.Second,
		RetryBackoff: 50 * time.Millisecond, MaxRetries: 40})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cl.Close(context.Background()) }()
	// flush.policy=always: every produce is fsynced (the fsync histogram).
	if _, err := cl.CreateTopic(ctx, "metered", 2, 1, map[string]string{"flush.policy": "always"}); err != nil {
		t.Fatal(err)
	}
	p, err := client.NewProducer(cl, client.ProducerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int32]int{0: 30, 1: 20}
	for part, n := range counts {
		for i := range n {
			if _, _, err := p.Produce(ctx, &client.Record{Topic: "metered", Partition: part, Value: fmt.Appendf(nil, "v%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = p.Close(ctx)

	// A stalled group: committed once, never again.
	tp0, tp1 := client.TopicPartition{Topic: "metered", Partition: 0}, client.TopicPartition{Topic: "metered", Partition: 1}
	if err := cl.CommitGroupOffsets(ctx, "stalled", map[client.TopicPartition]int64{tp0: 10, tp1: 20}); err != nil {
		t.Fatal(err)
	}
	// A live group reads everything.
	g, err := client.NewGroupConsumer(cl, client.GroupConfig{GroupID: "live", Topics: []string{"metered"},
		AutoOffsetReset: client.ResetEarliest})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = g.Close(context.Background()) }()
	for read := 0; read < 50; {
		recs, err := g.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		read += len(recs)
	}
	if err := g.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	p0, p1 := `{partition="0",topic="metered"}`, `{partition="1",topic="metered"}`
	want := map[string]float64{
		"sluice_partition_log_end_offset" + p0:                                         30,
		"sluice_partition_log_end_offset" + p1:                                         20,
		"sluice_partition_high_watermark" + p0:                                         30,
		"sluice_partition_leader" + p0:                                                 1,
		"sluice_partition_under_replicated" + p0:                                       0,
		"sluice_partition_produced_records_total" + p0:                                 30,
		"sluice_partition_produced_records_total" + p1:                                 20,
		`sluice_topic_produced_records_total{topic="metered"}`:                         50,
		`sluice_group_committed_offset{group="stalled",partition="0",topic="metered"}`: 10,
		`sluice_group_lag{group="stalled",partition="0",topic="metered"}`:              20,
		`sluice_group_lag{group="stalled",partition="1",topic="metered"}`:              0,
		`sluice_group_max_lag{group="stalled"}`:                                        20,
		`sluice_group_members{group="stalled"}`:                                        0,
		`sluice_group_lag{group="live",partition="0",topic="metered"}`:                 0,
		`sluice_group_max_lag{group="live"}`:                                           0,
		`sluice_group_members{group="live"}`:                                           1,
		`sluice_group_state{group="live",state="Stable"}`:                              1,
		"sluice_under_replicated_partitions":                                           0,
		"sluice_controller_active":                                                     1,
		"sluice_offline_partitions":                                                    0,
		"sluice_cluster_topics":                                                        2, // and __consumer_offsets
	}
	// The commit's answer may reach the client before the coordinator
	// publishes it: await the values.
	var got map[string]float64
	waitFor(t, func() error {
		got = scrape(t, c, 0)
		var wrong []string
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				wrong = append(wrong, fmt.Sprintf("%s = %v (present %v), want %v", k, g, ok, v))
			}
		}
		if len(wrong) > 0 {
			return fmt.Errorf("%s", strings.Join(wrong, "; "))
		}
		return nil
	})
	if got["sluice_group_rebalances_total"] < 1 {
		t.Errorf("rebalances %v, want at least the live group's first", got["sluice_group_rebalances_total"])
	}
	// __consumer_offsets and the topic's two partitions.
	if got["sluice_hosted_partitions"] < 3 || got["sluice_leader_partitions"] != got["sluice_hosted_partitions"] {
		t.Errorf("hosted %v, leading %v partitions", got["sluice_hosted_partitions"], got["sluice_leader_partitions"])
	}
	if got[`sluice_request_duration_seconds{error="NONE",request="produce"}_count`] < 50 ||
		got[`sluice_request_duration_seconds{error="NONE",request="fetch"}_count`] < 1 {
		t.Errorf("request durations: produce %v, fetch %v", got[`sluice_request_duration_seconds{error="NONE",request="produce"}_count`],
			got[`sluice_request_duration_seconds{error="NONE",request="fetch"}_count`])
	}
	// The 50 acks=all produces, fsynced, in every stage.
	for _, stage := range []string{"append", "flush", "replicate", "total"} {
		if n := got[`sluice_produce_stage_seconds{stage="`+stage+`"}_count`]; n < 50 {
			t.Errorf("produce stage %s: %v samples, want at least 50", stage, n)
		}
	}
	if got["sluice_log_fsync_seconds_count"] < 1 || got["sluice_cluster_partitions"] < 52 {
		t.Errorf("%v fsync rounds, %v partitions in the cluster", got["sluice_log_fsync_seconds_count"], got["sluice_cluster_partitions"])
	}
	// Every series the Grafana dashboard plots exists.
	dashboard, err := os.ReadFile(filepath.Join("..", "docs", "grafana", "sluice-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	names := make(map[string]bool)
	for k := range got {
		names[strings.TrimSuffix(strings.SplitN(k, "{", 2)[0], "_count")] = true
	}
	for _, name := range regexp.MustCompile(`sluice_[a-z_]+`).FindAllString(string(dashboard), -1) {
		base := strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count")
		if !names[base] {
			t.Errorf("the dashboard plots %s, which /metrics does not have", name)
		}
	}
	if got["sluice_partition_fetched_records_total"+p0] < 30 || got["sluice_partition_log_size_bytes"+p0] <= 0 {
		t.Errorf("partition 0: fetched %v records, log %v bytes", got["sluice_partition_fetched_records_total"+p0],
			got["sluice_partition_log_size_bytes"+p0])
	}
}
