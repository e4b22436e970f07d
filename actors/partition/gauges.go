package partition

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

// Gauges is the node's per-partition view for /metrics: every hosted
// replica publishes its log and role into it, and counts the records and
// bytes it takes in and hands out; a scrape reads them without asking the
// actors. It is a prometheus.Collector. One per node, shared by its
// replicas; a nil *Gauges records nothing.
type Gauges struct {
	mu    sync.Mutex
	parts map[gaugeKey]*partitionStats
}

type gaugeKey struct {
	topic     string
	partition int32
}

// partitionStats is what one replica publishes. The atomics are written by
// the replica actor and read by scrapes.
type partitionStats struct {
	key              gaugeKey
	topic, partition string                        // the labels
	log              atomic.Pointer[commitlog.Log] // nil while closed
	role             atomic.Pointer[roleStats]
	producedRecords  atomic.Int64
	producedBytes    atomic.Int64
	fetchedRecords   atomic.Int64
	fetchedBytes     atomic.Int64
	owners           int // guarded by Gauges.mu
}

// roleStats is a replica's role as last published; it is replaced, never
// changed.
type roleStats struct {
	leader                bool
	replicas, isr, minISR int
}

// NewGauges returns an empty Gauges.
func NewGauges() *Gauges { return &Gauges{parts: make(map[gaugeKey]*partitionStats)} }

// acquire returns the stats of topic/partition, created on first use; each
// acquire is paired with a release.
func (g *Gauges) acquire(topic string, partition int32) *partitionStats {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	k := gaugeKey{topic, partition}
	s := g.parts[k]
	if s == nil {
		s = &partitionStats{key: k, topic: topic, partition: strconv.Itoa(int(partition))}
		g.parts[k] = s
	}
	s.owners++
	return s
}

// release gives s back; the partition's series go with its last owner.
func (g *Gauges) release(s *partitionStats) {
	if g == nil || s == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if s.owners--; s.owners <= 0 {
		delete(g.parts, s.key)
	}
}

// HighWatermark is the high watermark of a partition hosted here (leader
// or follower), and whether it is hosted with its log open.
func (g *Gauges) HighWatermark(topic string, partition int32) (int64, bool) {
	if l := g.openLog(topic, partition); l != nil {
		return l.HighWatermark(), true
	}
	return 0, false
}

// LogSize is the segment bytes of a partition hosted here, and whether it
// is hosted with its log open.
func (g *Gauges) LogSize(topic string, partition int32) (int64, bool) {
	if l := g.openLog(topic, partition); l != nil {
		return l.Size(), true
	}
	return 0, false
}

// openLog is the log of a partition hosted here; nil when it is not
// hosted or its log is closed.
func (g *Gauges) openLog(topic string, partition int32) *commitlog.Log {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	s := g.parts[gaugeKey{topic, partition}]
	g.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.log.Load()
}

// The helpers below accept a nil *partitionStats.

func (s *partitionStats) produced(records int64, bytes int) {
	if s != nil {
		s.producedRecords.Add(records)
		s.producedBytes.Add(int64(bytes))
	}
}

// fetched counts the batches data returned by a fetch: their bytes and
// the records their headers count.
func (s *partitionStats) fetched(data []byte) {
	if s == nil || len(data) == 0 {
		return
	}
	var records int64
	for rest := data; len(rest) > 0; {
		h, err := batch.ParseHeader(rest)
		if err != nil || h.Size() > len(rest) {
			break
		}
		records += int64(h.RecordCount)
		rest = rest[h.Size():]
	}
	s.fetchedRecords.Add(records)
	s.fetchedBytes.Add(int64(len(data)))
}

// fetchedRange counts the batches of a file range returned by a fetch.
func (s *partitionStats) fetchedRange(records, bytes int64) {
	if s == nil || bytes == 0 {
		return
	}
	s.fetchedRecords.Add(records)
	s.fetchedBytes.Add(bytes)
}

func (s *partitionStats) setLog(l *commitlog.Log) {
	if s != nil {
		s.log.Store(l)
	}
}

// setRole publishes the role when it differs from the last one.
func (s *partitionStats) setRole(leader bool, replicas, isr, minISR int) {
	if s == nil {
		return
	}
	if old := s.role.Load(); old != nil && *old == (roleStats{leader, replicas, isr, minISR}) {
		return
	}
	s.role.Store(&roleStats{leader: leader, replicas: replicas, isr: isr, minISR: minISR})
}

var (
	partitionLabels = []string{"topic", "partition"}
	topicLabels     = []string{"topic"}

	descLogEnd       = seriesDesc("partition_log_end_offset", "Offset the next record appended to the partition gets.", partitionLabels)
	descHighWater    = seriesDesc("partition_high_watermark", "Offset below which the partition's records are committed.", partitionLabels)
	descLogStart     = seriesDesc("partition_log_start_offset", "First offset of the partition that can be read.", partitionLabels)
	descLogSize      = seriesDesc("partition_log_size_bytes", "Size of the partition's segment files on this node.", partitionLabels)
	descSegments     = seriesDesc("partition_log_segments", "Segments of the partition's log on this node, the active one included.", partitionLabels)
	descLeader       = seriesDesc("partition_leader", "1 when this node leads the partition, 0 when it follows.", partitionLabels)
	descReplicas     = seriesDesc("partition_replicas", "Replicas the metadata assigns the partition.", partitionLabels)
	descISR          = seriesDesc("partition_in_sync_replicas", "In-sync replicas of a partition this node leads.", partitionLabels)
	descUnderRep     = seriesDesc("partition_under_replicated", "1 when a partition this node leads has fewer in-sync replicas than replicas.", partitionLabels)
	descPartRecIn    = seriesDesc("partition_produced_records_total", "Records appended to a partition this node leads.", partitionLabels)
	descPartBytesIn  = seriesDesc("partition_produced_bytes_total", "Record batch bytes appended to a partition this node leads.", partitionLabels)
	descPartRecOut   = seriesDesc("partition_fetched_records_total", "Records (counted by batch headers) returned by fetches of a partition.", partitionLabels)
	descPartBytesOut = seriesDesc("partition_fetched_bytes_total", "Record batch bytes returned by fetches of a partition.", partitionLabels)
	descTopicRecIn   = seriesDesc("topic_produced_records_total", "Records appended to the topic's partitions this node leads.", topicLabels)
	descTopicBytesIn = seriesDesc("topic_produced_bytes_total", "Record batch bytes appended to the topic's partitions this node leads.", topicLabels)
	descTopicRecOut  = seriesDesc("topic_fetched_records_total", "Records returned by fetches of the topic's partitions on this node.", topicLabels)
	descTopicByteOut = seriesDesc("topic_fetched_bytes_total", "Record batch bytes returned by fetches of the topic's partitions on this node.", topicLabels)
	descHosted       = seriesDesc("hosted_partitions", "Partition replicas this node hosts.", nil)
	descLeading      = seriesDesc("leader_partitions", "Partitions this node leads.", nil)
	descUnderRepAll  = seriesDesc("under_replicated_partitions", "Partitions this node leads with fewer in-sync replicas than replicas.", nil)
	descUnderMinISR  = seriesDesc("under_min_isr_partitions", "Partitions this node leads with fewer in-sync replicas than min.insync.replicas.", nil)
)

func seriesDesc(name, help string, labels []string) *prometheus.Desc {
	return prometheus.NewDesc("sluice_"+name, help, labels, nil)
}

// Describe implements prometheus.Collector.
func (g *Gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLogEnd, descHighWater, descLogStart, descLogSize, descSegments, descLeader,
		descReplicas, descISR, descUnderRep, descPartRecIn, descPartBytesIn, descPartRecOut, descPartBytesOut,
		descTopicRecIn, descTopicBytesIn, descTopicRecOut, descTopicByteOut, descHosted, descLeading, descUnderRepAll, descUnderMinISR} {
		ch <- d
	}
}

// topicTotals sums a topic's partition counters.
type topicTotals struct{ recIn, bytesIn, recOut, bytesOut int64 }

// Collect implements prometheus.Collector.
func (g *Gauges) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	parts := make([]*partitionStats, 0, len(g.parts))
	for _, s := range g.parts {
		parts = append(parts, s)
	}
	g.mu.Unlock()
	gauge := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	topics := make(map[string]*topicTotals)
	var leading, underRep, underMinISR int64
	for _, s := range parts {
		t := topics[s.topic]
		if t == nil {
			t = &topicTotals{}
			topics[s.topic] = t
		}
		recIn, bytesIn := s.producedRecords.Load(), s.producedBytes.Load()
		recOut, bytesOut := s.fetchedRecords.Load(), s.fetchedBytes.Load()
		t.recIn, t.bytesIn, t.recOut, t.bytesOut = t.recIn+recIn, t.bytesIn+bytesIn, t.recOut+recOut, t.bytesOut+bytesOut
		counter(descPartRecIn, recIn, s.topic, s.partition)
		counter(descPartBytesIn, bytesIn, s.topic, s.partition)
		counter(descPartRecOut, recOut, s.topic, s.partition)
		counter(descPartBytesOut, bytesOut, s.topic, s.partition)
		if l := s.log.Load(); l != nil {
			gauge(descLogEnd, l.LogEndOffset(), s.topic, s.partition)
			gauge(descHighWater, l.HighWatermark(), s.topic, s.partition)
			gauge(descLogStart, l.LogStartOffset(), s.topic, s.partition)
			gauge(descLogSize, l.Size(), s.topic, s.partition)
			gauge(descSegments, int64(l.NumSegments()), s.topic, s.partition)
		}
		r := s.role.Load()
		if r == nil {
			continue
		}
		gauge(descReplicas, int64(r.replicas), s.topic, s.partition)
		if !r.leader {
			gauge(descLeader, 0, s.topic, s.partition)
			continue
		}
		leading++
		gauge(descLeader, 1, s.topic, s.partition)
		gauge(descISR, int64(r.isr), s.topic, s.partition)
		under := int64(0)
		if r.isr < r.replicas {
			under = 1
			underRep++
		}
		if r.isr < r.minISR {
			underMinISR++
		}
		gauge(descUnderRep, under, s.topic, s.partition)
	}
	for name, t := range topics {
		counter(descTopicRecIn, t.recIn, name)
		counter(descTopicBytesIn, t.bytesIn, name)
		counter(descTopicRecOut, t.recOut, name)
		counter(descTopicByteOut, t.bytesOut, name)
	}
	gauge(descHosted, int64(len(parts)))
	gauge(descLeading, leading)
	gauge(descUnderRepAll, underRep)
	gauge(descUnderMinISR, underMinISR)
}
