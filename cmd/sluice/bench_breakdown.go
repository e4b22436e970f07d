package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/sluice-mq/sluice/client"
)

// bench produce --breakdown: the latency of each stage of a produce, per
// request, from the producer's ProduceTiming reports (client.ProducerConfig
// OnProduceTiming) and the leader's stage times in its answers.

// Stages of a breakdown, in the order they are printed.
const (
	stageClientQueue = iota
	stageRemote
	stageBrokerAppend
	stageBrokerFlush
	stageBrokerReplicate
	stageBrokerTotal
	stageRoundTrip
	stageCount
)

// stageLabels are the stages' names in the text output.
var stageLabels = [stageCount]string{
	"client queue (linger included)",
	"remote + mailbox (both ways)",
	"broker append",
	"broker flush",
	"broker replicate",
	"broker total",
	"round trip",
}

// breakdown collects the stage times of one run's requests, in
// microseconds; the producers' sender goroutines report concurrently.
type breakdown struct {
	mu     sync.Mutex // guards stages
	stages [stageCount]*hdrhistogram.Histogram
}

func newBreakdown() *breakdown {
	b := &breakdown{}
	for i := range b.stages {
		b.stages[i] = newLatencyHistogram()
	}
	return b
}

// observe records one acknowledged request. The broker's flush and
// replicate stages count only when the answer waited for them; the
// remote part (transport both ways and the leader's mailbox) is the
// round trip less the broker's total, for a broker that reports one.
func (b *breakdown) observe(pt client.ProduceTiming) {
	us := func(d time.Duration) int64 { return max(d.Microseconds(), 0) }
	b.mu.Lock()
	defer b.mu.Unlock()
	record := func(stage int, d time.Duration) { _ = b.stages[stage].RecordValue(us(d)) }
	record(stageClientQueue, pt.Queued)
	record(stageRoundTrip, pt.RoundTrip)
	if pt.Broker.Total > 0 {
		record(stageRemote, pt.RoundTrip-pt.Broker.Total)
		record(stageBrokerAppend, pt.Broker.Append)
		record(stageBrokerTotal, pt.Broker.Total)
	}
	if pt.Broker.Flush > 0 {
		record(stageBrokerFlush, pt.Broker.Flush)
	}
	if pt.Broker.Replicate > 0 {
		record(stageBrokerReplicate, pt.Broker.Replicate)
	}
}

// stageStats summarises one stage: the requests (records for the
// end-to-end ack) that went through it, and quantiles in milliseconds.
type stageStats struct {
	Count int64   `json:"count"`
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

func statsOf(h *hdrhistogram.Histogram) stageStats {
	if h.TotalCount() == 0 {
		return stageStats{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return stageStats{Count: h.TotalCount(), P50Ms: ms(h.ValueAtQuantile(50)), P99Ms: ms(h.ValueAtQuantile(99)), MaxMs: ms(h.Max())}
}

// breakdownResult is the breakdown in a bench's output (-o json:
// "breakdown"). Stages are per request; EndToEnd is per record, from
// ProduceAsync to its callback (the bench's latency). A stage with count
// 0 was not waited for (flush with flush.policy never, replicate with
// acks other than all).
type breakdownResult struct {
	ClientQueue     stageStats `json:"client_queue"`
	RemoteMailbox   stageStats `json:"remote_and_mailbox"`
	BrokerAppend    stageStats `json:"broker_append"`
	BrokerFlush     stageStats `json:"broker_flush"`
	BrokerReplicate stageStats `json:"broker_replicate"`
	BrokerTotal     stageStats `json:"broker_total"`
	RoundTrip       stageStats `json:"round_trip"`
	EndToEnd        stageStats `json:"end_to_end_ack"`
}

// result summarises the breakdown; endToEnd is the run's per-record
// acknowledgement latency histogram.
func (b *breakdown) result(endToEnd *hdrhistogram.Histogram) *breakdownResult {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := func(stage int) stageStats { return statsOf(b.stages[stage]) }
	return &breakdownResult{
		ClientQueue: s(stageClientQueue), RemoteMailbox: s(stageRemote),
		BrokerAppend: s(stageBrokerAppend), BrokerFlush: s(stageBrokerFlush), BrokerReplicate: s(stageBrokerReplicate),
		BrokerTotal: s(stageBrokerTotal), RoundTrip: s(stageRoundTrip), EndToEnd: statsOf(endToEnd),
	}
}

// print writes the breakdown as a table, one stage a line.
func (r *breakdownResult) print(w io.Writer) {
	rows := []stageStats{r.ClientQueue, r.RemoteMailbox, r.BrokerAppend, r.BrokerFlush, r.BrokerReplicate,
		r.BrokerTotal, r.RoundTrip, r.EndToEnd}
	labels := append(stageLabels[:], "end-to-end ack (per record)")
	fmt.Fprintf(w, "latency by stage, ms (per request)  %10s %10s %10s %10s\n", "p50", "p99", "max", "count")
	for i, st := range rows {
		if st.Count == 0 {
			fmt.Fprintf(w, "  %-33s %10s\n", labels[i], "not waited for")
			continue
		}
		fmt.Fprintf(w, "  %-33s %10.3f %10.3f %10.3f %10d\n", labels[i], st.P50Ms, st.P99Ms, st.MaxMs, st.Count)
	}
}
