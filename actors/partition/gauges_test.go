package partition

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// series gathers r and returns the value of every sample, keyed by its
// name and labels as in the exposition format: name{k="v",...}.
func series(t *testing.T, r *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := r.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]float64)
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := f.GetName()
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

func TestGaugesPublishPartitionSeries(t *testing.T) {
	gauges, metrics := NewGauges(), NewMetrics()
	reg := prometheus.NewRegistry()
	if err := reg.Register(gauges); err != nil {
		t.Fatal(err)
	}
	if err := metrics.Register(reg); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *Config, s *State) {
		c.Gauges, c.Metrics = gauges, metrics
		s.Replicas = []int32{1, 2} // node 2 never shows up: under-replicated
		s.ISR = []int32{1}
	})
	h.produce(encode(t, 1, "a", "b"), 1)
	h.produce(encode(t, 1, "c"), 1)
	if f := h.fetch(0, 1, 0); len(values(t, f.Records)) != 3 {
		t.Fatalf("fetch: %v", values(t, f.Records))
	}
	h.status() // the fetch's answer is counted before this one
	const p = `{partition="0",topic="orders"}`
	got := series(t, reg)
	want := map[string]float64{
		"sluice_partition_log_end_offset" + p:                                   3,
		"sluice_partition_high_watermark" + p:                                   3, // the ISR is the leader alone
		"sluice_partition_log_start_offset" + p:                                 0,
		"sluice_partition_log_segments" + p:                                     1,
		"sluice_partition_leader" + p:                                           1,
		"sluice_partition_replicas" + p:                                         2,
		"sluice_partition_in_sync_replicas" + p:                                 1,
		"sluice_partition_under_replicated" + p:                                 1,
		"sluice_partition_produced_records_total" + p:                           3,
		"sluice_partition_fetched_records_total" + p:                            3,
		`sluice_topic_produced_records_total{topic="orders"}`:                   3,
		`sluice_topic_fetched_records_total{topic="orders"}`:                    3,
		"sluice_hosted_partitions":                                              1,
		"sluice_leader_partitions":                                              1,
		"sluice_under_replicated_partitions":                                    1,
		`sluice_request_duration_seconds{error="NONE",request="produce"}_count`: 2,
		`sluice_request_duration_seconds{error="NONE",request="fetch"}_count`:   1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if got["sluice_partition_log_size_bytes"+p] <= 0 || got["sluice_partition_produced_bytes_total"+p] <= 0 ||
		got["sluice_partition_fetched_bytes_total"+p] != got["sluice_partition_produced_bytes_total"+p] {
		t.Errorf("sizes: log %v, produced %v, fetched %v bytes", got["sluice_partition_log_size_bytes"+p],
			got["sluice_partition_produced_bytes_total"+p], got["sluice_partition_fetched_bytes_total"+p])
	}

	// A stopped replica's series go.
	h.stop()
	got = series(t, reg)
	if _, ok := got["sluice_partition_log_end_offset"+p]; ok || got["sluice_hosted_partitions"] != 0 {
		t.Fatalf("after stop: log end series present %v, hosted %v", ok, got["sluice_hosted_partitions"])
	}
}
