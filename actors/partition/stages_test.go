package partition

import (
	"fmt"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

// stageCounts returns the sample count of each produce stage series.
func stageCounts(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	got := series(t, reg)
	out := make(map[string]float64)
	for _, stage := range stageNames {
		out[stage] = got[fmt.Sprintf("sluice_produce_stage_seconds{stage=%q}_count", stage)]
	}
	return out
}

// wantStages checks the stage times of a successful answer: append and
// total always measured, flush only when the flush policy made the
// answer wait, replicate only with acks=all; none exceeds the total.
func wantStages(t *testing.T, what string, r *messages.ProduceResponse, flushed, replicated bool) {
	t.Helper()
	wantCode(t, r.ErrorCode, messages.ErrorCode_NONE, r.ErrorMessage)
	stages := []int64{r.BrokerAppendUs, r.BrokerFlushUs, r.BrokerReplicateUs, r.BrokerTotalUs}
	switch {
	case slices.Min(stages) < 0:
		t.Fatalf("%s: negative stage in %v", what, stages)
	case r.BrokerAppendUs == 0 || r.BrokerTotalUs == 0:
		t.Fatalf("%s: append %d µs, total %d µs: want both measured", what, r.BrokerAppendUs, r.BrokerTotalUs)
	case (r.BrokerFlushUs > 0) != flushed:
		t.Fatalf("%s: flush %d µs, want measured %v", what, r.BrokerFlushUs, flushed)
	case (r.BrokerReplicateUs > 0) != replicated:
		t.Fatalf("%s: replicate %d µs, want measured %v", what, r.BrokerReplicateUs, replicated)
	case slices.Max(stages[:3]) > r.BrokerTotalUs:
		t.Fatalf("%s: a stage longer than the total: %v", what, stages)
	}
}

// TestProduceStagesInResponseAndMetrics: a three-replica leader answers
// every successful produce with its stage times and counts them in
// sluice_produce_stage_seconds, for each flush policy and acks level;
// a refused produce carries and counts none.
func TestProduceStagesInResponseAndMetrics(t *testing.T) {
	for _, policy := range []metadata.FlushPolicy{metadata.FlushNever, metadata.FlushInterval, metadata.FlushAlways} {
		t.Run(string(policy), func(t *testing.T) { testProduceStages(t, policy) })
	}
}

func testProduceStages(t *testing.T, policy metadata.FlushPolicy) {
	metrics, reg := NewMetrics(), prometheus.NewRegistry()
	if err := metrics.Register(reg); err != nil {
		t.Fatal(err)
	}
	g := newReplicaGroup(t, []int32{1, 2, 3}, nil, func(c *Config) {
		c.TopicConfig.FlushPolicy = policy
		c.Metrics = metrics
	})
	g.startAll(State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}})
	flushed := policy != metadata.FlushNever

	const perAcks = 5
	for i := range 2 * perAcks {
		acks := int32(1)
		if i%2 == 1 {
			acks = -1
		}
		r := g.produce(1, encode(t, int64(i), fmt.Sprintf("v%d", i)), acks, 0)
		wantStages(t, fmt.Sprintf("produce %d acks=%d", i, acks), r, flushed, acks == -1)
	}
	// Refused before the append: no stage times, nothing counted.
	if r := g.produce(1, encode(t, 99, "bad acks"), 2, 0); r.ErrorCode != messages.ErrorCode_INVALID_REQUIRED_ACKS ||
		r.BrokerAppendUs != 0 || r.BrokerTotalUs != 0 {
		t.Fatalf("refused produce: %+v", r)
	}
	// A follower refuses too, and counts nothing.
	wantCode(t, g.produce(2, encode(t, 1, "no"), 1, 0).ErrorCode, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, "")

	// Answers are counted before they are sent.
	want := map[string]float64{"append": 2 * perAcks, "replicate": perAcks, "total": 2 * perAcks}
	if flushed {
		want["flush"] = 2 * perAcks
	}
	got := stageCounts(t, reg)
	for _, stage := range stageNames {
		if got[stage] != want[stage] {
			t.Errorf("%s: %v samples, want %v", stage, got[stage], want[stage])
		}
	}
}

// TestProduceStagesOfDuplicate: a retried idempotent batch is answered
// with the original offsets and its own stage times (append: the
// duplicate check), and counted.
func TestProduceStagesOfDuplicate(t *testing.T) {
	metrics, reg := NewMetrics(), prometheus.NewRegistry()
	if err := metrics.Register(reg); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *Config, _ *State) { c.Metrics = metrics })
	first := h.produce(idem(t, 7, 0, 0, "a", "b"), -1)
	wantStages(t, "first", first, false, true)
	retry := h.produce(idem(t, 7, 0, 0, "a", "b"), -1)
	wantStages(t, "retry", retry, false, true)
	if retry.BaseOffset != first.BaseOffset || h.status().LogEndOffset != 2 {
		t.Fatalf("retry at %d (first at %d), log end %d", retry.BaseOffset, first.BaseOffset, h.status().LogEndOffset)
	}
	if got := stageCounts(t, reg); got["append"] != 2 || got["total"] != 2 || got["replicate"] != 2 || got["flush"] != 0 {
		t.Fatalf("stage counts %v", got)
	}
}

// TestAllAckListDurableBelow: each entry is passed on once, in order,
// when the durable offset passes its last offset, whether or not the
// core completed it; removals keep the count right.
func TestAllAckListDurableBelow(t *testing.T) {
	var l allAckList[string]
	a := l.push(2, "a")
	l.push(5, "b")
	c := l.push(7, "c")
	l.push(9, "d")
	var seen []string
	note := func(v string) { seen = append(seen, v) }
	steps := []struct {
		name string
		do   func()
		want []string // seen after the step
	}{
		{"nothing durable", func() { l.durableBelow(2, note) }, nil},
		{"a and b", func() { l.durableBelow(6, note) }, []string{"a", "b"}},
		{"again, nothing new", func() { l.durableBelow(6, note) }, []string{"a", "b"}},
		// a completes and is taken; c fails and is removed before
		// becoming durable.
		{"a taken, c failed", func() {
			l.complete(a, false)
			l.ready(6)
			l.complete(c, true)
			l.durableBelow(6, note)
		}, []string{"a", "b"}},
		{"d", func() { l.durableBelow(100, note) }, []string{"a", "b", "d"}},
		{"after a drain, new entries", func() {
			l.drain()
			l.push(12, "e")
			l.durableBelow(100, note)
		}, []string{"a", "b", "d", "e"}},
	}
	for _, s := range steps {
		s.do()
		if !slices.Equal(seen, s.want) {
			t.Fatalf("%s: seen %v, want %v", s.name, seen, s.want)
		}
	}
}
