package group

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	core "github.com/sluice-mq/sluice/group"
)

// HighWatermarkFunc returns the high watermark of a partition, and false
// when it is not known here.
type HighWatermarkFunc func(topic string, partition int32) (int64, bool)

// Stats is the node's view of the groups it coordinates, for /metrics:
// each coordinator publishes its committed offsets, state and size into it
// when they change, and a scrape computes each partition's lag as the
// partition's high watermark (HighWatermark, from the replicas hosted
// here) minus the committed offset, without reading any log or asking the
// actors. It is a prometheus.Collector; a nil *Stats records nothing.
type Stats struct {
	// HighWatermark finds the log end of committed partitions; a
	// partition it does not know has no lag series.
	HighWatermark HighWatermarkFunc

	mu         sync.Mutex
	groups     map[string]*groupStats
	rebalances atomic.Int64
}

// groupStats is one group as last published; replaced, never changed.
type groupStats struct {
	state      string
	members    int
	generation int32
	offsets    map[core.Partition]int64
}

// NewStats returns an empty Stats whose lag uses hw.
func NewStats(hw HighWatermarkFunc) *Stats {
	return &Stats{HighWatermark: hw, groups: make(map[string]*groupStats)}
}

// publish replaces the published view of group.
func (s *Stats) publish(group string, g *groupStats) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.groups[group] = g
	s.mu.Unlock()
}

// drop removes group (its coordinator moved or stopped).
func (s *Stats) drop(group string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	delete(s.groups, group)
	s.mu.Unlock()
}

// rebalanced counts completed rebalances (new generations).
func (s *Stats) rebalanced(n int32) {
	if s != nil && n > 0 {
		s.rebalances.Add(int64(n))
	}
}

var (
	descGroupMembers    = prometheus.NewDesc("sluice_group_members", "Members of a consumer group this node coordinates.", []string{"group"}, nil)
	descGroupState      = prometheus.NewDesc("sluice_group_state", "1 for the state a consumer group this node coordinates is in.", []string{"group", "state"}, nil)
	descGroupGeneration = prometheus.NewDesc("sluice_group_generation", "Generation of a consumer group this node coordinates.", []string{"group"}, nil)
	descGroupCommitted  = prometheus.NewDesc("sluice_group_committed_offset", "Offset a consumer group committed for a partition.", []string{"group", "topic", "partition"}, nil)
	descGroupLag        = prometheus.NewDesc("sluice_group_lag", "High watermark of a partition minus the offset the group committed for it (partitions hosted on the coordinator's node).", []string{"group", "topic", "partition"}, nil)
	descGroupMaxLag     = prometheus.NewDesc("sluice_group_max_lag", "Largest lag over a consumer group's committed partitions hosted on the coordinator's node.", []string{"group"}, nil)
	descRebalances      = prometheus.NewDesc("sluice_group_rebalances_total", "Rebalances (new generations) completed by the groups this node coordinates.", nil, nil)
)

// Describe implements prometheus.Collector.
func (s *Stats) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descGroupMembers, descGroupState, descGroupGeneration, descGroupCommitted,
		descGroupLag, descGroupMaxLag, descRebalances} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *Stats) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	groups := make(map[string]*groupStats, len(s.groups))
	for id, g := range s.groups {
		groups[id] = g
	}
	s.mu.Unlock()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for id, g := range groups {
		gauge(descGroupMembers, float64(g.members), id)
		gauge(descGroupState, 1, id, g.state)
		gauge(descGroupGeneration, float64(g.generation), id)
		maxLag, anyLag := int64(0), false
		for tp, offset := range g.offsets {
			p := strconv.Itoa(int(tp.Partition))
			gauge(descGroupCommitted, float64(offset), id, tp.Topic, p)
			if s.HighWatermark == nil {
				continue
			}
			hw, ok := s.HighWatermark(tp.Topic, tp.Partition)
			if !ok {
				continue
			}
			lag := max(hw-offset, 0)
			gauge(descGroupLag, float64(lag), id, tp.Topic, p)
			maxLag, anyLag = max(maxLag, lag), true
		}
		if anyLag {
			gauge(descGroupMaxLag, float64(maxLag), id)
		}
	}
	ch <- prometheus.MustNewConstMetric(descRebalances, prometheus.CounterValue, float64(s.rebalances.Load()))
}

// publishStats publishes the group to Config.Stats when its offsets
// (offsetsVersion), state, size or generation changed since the last time;
// it runs after every message. A generation that grew while loaded is a
// completed rebalance.
func (c *coordinator) publishStats() {
	st := c.cfg.Stats
	if st == nil {
		return
	}
	if !c.loaded || c.g == nil {
		if c.published != nil {
			st.drop(c.groupID)
			c.published = nil
		}
		return
	}
	state, members, gen := c.g.State().String(), c.g.Size(), c.g.Generation()
	p := c.published
	if p != nil && c.publishedVersion == c.offsetsVersion && p.state == state && p.members == members && p.generation == gen {
		return
	}
	if p != nil {
		st.rebalanced(gen - p.generation)
	}
	offsets := make(map[core.Partition]int64, len(c.offsets))
	for tp, v := range c.offsets {
		offsets[tp] = v.Offset
	}
	c.published = &groupStats{state: state, members: members, generation: gen, offsets: offsets}
	c.publishedVersion = c.offsetsVersion
	st.publish(c.groupID, c.published)
}
