package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/sluice-mq/sluice/client"
)

// breakdownOf feeds timings to a breakdown and summarises it with an
// end-to-end histogram of records acknowledged after 1 ms each.
func breakdownOf(t *testing.T, records int, timings ...client.ProduceTiming) *breakdownResult {
	t.Helper()
	bd := newBreakdown()
	for _, pt := range timings {
		bd.observe(pt)
	}
	e2e := hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)
	for range records {
		if err := e2e.RecordValue(1000); err != nil {
			t.Fatal(err)
		}
	}
	return bd.result(e2e)
}

// TestBenchBreakdownStages: every request counts in the client queue and
// the round trip; the broker's stages and the remote part only when the
// broker reported them, flush and replicate only when waited for; the
// remote part is the round trip less the broker's total.
func TestBenchBreakdownStages(t *testing.T) {
	us := time.Microsecond
	r := breakdownOf(t, 30,
		client.ProduceTiming{Records: 10, Queued: 1200 * us, RoundTrip: 900 * us,
			Broker: client.BrokerTiming{Append: 100 * us, Total: 300 * us}},
		client.ProduceTiming{Records: 10, Queued: 1100 * us, RoundTrip: 2900 * us,
			Broker: client.BrokerTiming{Append: 100 * us, Flush: 400 * us, Replicate: 2000 * us, Total: 2300 * us}},
		// A broker that reports nothing.
		client.ProduceTiming{Records: 10, Queued: 1000 * us, RoundTrip: 700 * us},
	)
	counts := map[string][2]int64{ // got, want
		"client queue":     {r.ClientQueue.Count, 3},
		"round trip":       {r.RoundTrip.Count, 3},
		"remote + mailbox": {r.RemoteMailbox.Count, 2},
		"broker append":    {r.BrokerAppend.Count, 2},
		"broker total":     {r.BrokerTotal.Count, 2},
		"broker flush":     {r.BrokerFlush.Count, 1},
		"broker replicate": {r.BrokerReplicate.Count, 1},
		"end to end":       {r.EndToEnd.Count, 30},
	}
	for stage, c := range counts {
		if c[0] != c[1] {
			t.Errorf("%s: count %d, want %d", stage, c[0], c[1])
		}
	}
	if r.RemoteMailbox.P50Ms != 0.6 || r.RemoteMailbox.MaxMs != 0.6 {
		t.Errorf("remote + mailbox %+v, want 0.6 ms (round trip less broker total) both times", r.RemoteMailbox)
	}
	if r.ClientQueue.MaxMs != 1.2 || r.BrokerReplicate.P99Ms != 2 {
		t.Errorf("client queue %+v, replicate %+v", r.ClientQueue, r.BrokerReplicate)
	}
}

// TestBenchBreakdownOutput: the text output has a line per stage, a
// stage not waited for says so; -o json has every stage under
// "breakdown".
func TestBenchBreakdownOutput(t *testing.T) {
	bd := breakdownOf(t, 5, client.ProduceTiming{Records: 5, Queued: time.Millisecond, RoundTrip: time.Millisecond,
		Broker: client.BrokerTiming{Append: 50 * time.Microsecond, Total: 80 * time.Microsecond}})
	res := benchResult{Records: 5, Bytes: 5, Seconds: 1, RateOffered: 100, Breakdown: bd}

	var out bytes.Buffer
	a := &app{stdout: &out}
	if err := a.printBench(res, true); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, label := range append(stageLabels[:], "end-to-end ack") {
		if !strings.Contains(text, label) {
			t.Errorf("no %q line in:\n%s", label, text)
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "broker flush") && !strings.Contains(line, "not waited for") {
			t.Errorf("flush line %q: want not waited for", line)
		}
	}

	out.Reset()
	a.output = "json"
	if err := a.printBench(res, true); err != nil {
		t.Fatal(err)
	}
	var parsed struct {
		Breakdown map[string]stageStats `json:"breakdown"`
	}
	if err := json.Unmarshal(out.Bytes(), &parsed); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	for _, key := range []string{"client_queue", "remote_and_mailbox", "broker_append", "broker_flush", "broker_replicate",
		"broker_total", "round_trip", "end_to_end_ack"} {
		if _, ok := parsed.Breakdown[key]; !ok {
			t.Errorf("no breakdown.%s in:\n%s", key, out.String())
		}
	}
	if parsed.Breakdown["broker_total"].Count != 1 || parsed.Breakdown["end_to_end_ack"].Count != 5 {
		t.Errorf("json breakdown %+v", parsed.Breakdown)
	}

	// Without --breakdown there is no breakdown.
	out.Reset()
	res.Breakdown = nil
	if err := a.printBench(res, true); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "breakdown") {
		t.Errorf("breakdown without --breakdown:\n%s", out.String())
	}
}
