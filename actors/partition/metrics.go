package partition

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-mq/sluice/messages"
)

// Metrics are the counters replica actors update; one set per node,
// shared by every replica. Register them with Register.
type Metrics struct {
	ProduceRequests *prometheus.CounterVec // by error code
	ProducedBytes   prometheus.Counter
	ProducedRecords prometheus.Counter
	FetchRequests   *prometheus.CounterVec // by error code
	FetchedBytes    prometheus.Counter
	ParkedFetches   prometheus.Gauge
	SegmentsDeleted prometheus.Counter
	// Replication: bytes leaders pushed and followers appended, ISR
	// changes leaders wrote (by direction), follower truncations.
	PushedBytes     prometheus.Counter
	ReplicatedBytes prometheus.Counter
	// ThrottledPushes counts catch-up pushes held back by the node's
	// reassignment throttle (sent at a later tick).
	ThrottledPushes prometheus.Counter
	ISRChanges      *prometheus.CounterVec // by change: shrink, expand
	Truncations     prometheus.Counter
	// RecoveryScannedBytes counts log bytes verified by crash recovery
	// when logs open (the bytes after their checkpointed recovery point).
	RecoveryScannedBytes prometheus.Counter
	// ProducerStateReplayedBatches counts batch headers read to rebuild
	// producer state (the log above the latest snapshot) when logs open
	// or followers truncate.
	ProducerStateReplayedBatches prometheus.Counter
	// RequestDuration is the time from a produce or fetch request's
	// arrival at the replica to its answer (acks and long polls
	// included), by request and error code.
	RequestDuration *prometheus.HistogramVec
	// FsyncDuration is the time of each fsync round of a log's data.
	FsyncDuration prometheus.Histogram
	// ProduceStages is where successful produce requests spent their
	// time in the leader, by stage (the broker_*_us fields of the
	// ProduceResponse): append, flush (only produces that waited for an
	// fsync), replicate (only acks=all), total.
	ProduceStages *prometheus.HistogramVec
	// stages are ProduceStages' series, resolved once: an answer
	// observes them without a label lookup.
	stages [stageCount]prometheus.Observer
}

// Stages of ProduceStages, by index into Metrics.stages.
const (
	stageAppend = iota
	stageFlush
	stageReplicate
	stageTotal
	stageCount
)

var stageNames = [stageCount]string{"append", "flush", "replicate", "total"}

// NewMetrics creates the replica metrics (not yet registered). The
// labelled series every node has are created at 0, so that dashboards and
// rate() see them before the first event.
func NewMetrics() *Metrics {
	m := newMetrics()
	m.ISRChanges.WithLabelValues("shrink")
	m.ISRChanges.WithLabelValues("expand")
	return m
}

func newMetrics() *Metrics {
	m := &Metrics{
		ProduceRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Name: "produce_requests_total",
			Help: "Produce requests handled by partition leaders, by error code.",
		}, []string{"error"}),
		ProducedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "sluice", Name: "produced_bytes_total",
			Help: "Record batch bytes appended by partition leaders.",
		}),
		ProducedRecords: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "sluice", Name: "produced_records_total",
			Help: "Records appended by partition leaders.",
		}),
		FetchRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Name: "fetch_requests_total",
			Help: "Fetch requests answered by partition leaders, by error code.",
		}, []string{"error"}),
		FetchedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "sluice", Name: "fetched_bytes_total",
			Help: "Record batch bytes returned by fetches.",
		}),
		ParkedFetches: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "sluice", Name: "parked_fetches",
			Help: "Long-poll fetches waiting for data.",
		}),
		SegmentsDeleted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "sluice", Name: "segments_deleted_total",
			Help: "Log segments deleted by retention.",
		}),
		PushedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "sluice", Name: "replication_pushed_bytes_total",
			Help: "Record batch bytes partition leaders pushed to followers (resends included).",
		}),
		ThrottledPushes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "sluice", Name: "replication_throttled_pushes_total",
			Help: "Pushes to followers outside the ISR held back by replication.reassignment_throttle_bytes.",
		}),
		ReplicatedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "sluice", Name: "replication_appended_bytes_total",
			Help: "Record batch bytes followers appended from their leaders.",
		}),
		ISRChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "sluice", Name: "isr_changes_total",
			Help: "ISR changes partition leaders wrote to the metadata store, by change (shrink, expand).",
		}, []string{"change"}),
		Truncations: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "sluice", Name: "replica_truncations_total",
			Help: "Follower logs truncated to where they diverge from their leader's.",
		}),
		RecoveryScannedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "sluice", Name: "log_recovery_scanned_bytes_total",
			Help: "Log bytes verified by crash recovery when partition logs opened.",
		}),
		ProducerStateReplayedBatches: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "sluice", Name: "producer_state_replayed_batches_total",
			Help: "Batch headers read to rebuild producer state above the latest snapshot.",
		}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sluice", Name: "request_duration_seconds",
			Help: "Time from a produce or fetch request's arrival at the partition replica to its answer (acks=all replication and long-poll waits included), by request and error code.",
			// 100 µs to ~15 s.
			Buckets: prometheus.ExponentialBuckets(0.0001, 2.5, 14),
		}, []string{"request", "error"}),
		FsyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "sluice", Name: "log_fsync_seconds",
			Help: "Time of each fsync round of a partition log's segment files (and directory when it changed).",
			// 50 µs to ~3 s.
			Buckets: prometheus.ExponentialBuckets(0.00005, 2.5, 13),
		}),
		ProduceStages: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "sluice", Name: "produce_stage_seconds",
			Help: "Time successful produce requests spent in each stage in the partition leader: append (arrival at the replica to the append done), flush (append to durable, when the flush policy makes the answer wait), replicate (append to every in-sync replica having it, acks=all), total (arrival to answer).",
			// 50 µs to 1 s, 28 buckets (a factor of about 1.44).
			Buckets: prometheus.ExponentialBucketsRange(0.00005, 1, 28),
		}, []string{"stage"}),
	}
	for i, name := range stageNames {
		m.stages[i] = m.ProduceStages.WithLabelValues(name)
	}
	return m
}

// Register adds every metric to r.
func (m *Metrics) Register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.ProduceRequests, m.ProducedBytes, m.ProducedRecords,
		m.FetchRequests, m.FetchedBytes, m.ParkedFetches, m.SegmentsDeleted,
		m.PushedBytes, m.ThrottledPushes, m.ReplicatedBytes, m.ISRChanges, m.Truncations, m.RecoveryScannedBytes, m.ProducerStateReplayedBatches,
		m.RequestDuration, m.FsyncDuration, m.ProduceStages} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// The helpers below accept a nil *Metrics, so replicas built without
// metrics need no checks.

func (m *Metrics) produce(code string, bytes int, records int64) {
	if m == nil {
		return
	}
	m.ProduceRequests.WithLabelValues(code).Inc()
	if bytes > 0 {
		m.ProducedBytes.Add(float64(bytes))
		m.ProducedRecords.Add(float64(records))
	}
}

func (m *Metrics) fetch(code string, bytes int) {
	if m == nil {
		return
	}
	m.FetchRequests.WithLabelValues(code).Inc()
	m.FetchedBytes.Add(float64(bytes))
}

// Request kinds of RequestDuration.
const (
	requestProduce = "produce"
	requestFetch   = "fetch"
)

func (m *Metrics) requestDone(request string, code messages.ErrorCode, received time.Time) {
	if m != nil && !received.IsZero() {
		m.RequestDuration.WithLabelValues(request, code.String()).Observe(time.Since(received).Seconds())
	}
}

// produceAnswered records a produce answer sent took after the request's
// arrival, and the stage times a successful answer carries.
func (m *Metrics) produceAnswered(resp *messages.ProduceResponse, took time.Duration) {
	if m == nil {
		return
	}
	m.RequestDuration.WithLabelValues(requestProduce, resp.ErrorCode.String()).Observe(took.Seconds())
	if resp.ErrorCode != messages.ErrorCode_NONE {
		return
	}
	for i, us := range [stageCount]int64{resp.BrokerAppendUs, resp.BrokerFlushUs, resp.BrokerReplicateUs, resp.BrokerTotalUs} {
		if us > 0 {
			m.stages[i].Observe(float64(us) / 1e6)
		}
	}
}

// ObserveFsync records one fsync round (commitlog.WithSyncObserver).
func (m *Metrics) ObserveFsync(d time.Duration) {
	if m != nil {
		m.FsyncDuration.Observe(d.Seconds())
	}
}

func (m *Metrics) parked(delta int) {
	if m != nil {
		m.ParkedFetches.Add(float64(delta))
	}
}

func (m *Metrics) segmentsDeleted(n int) {
	if m != nil && n > 0 {
		m.SegmentsDeleted.Add(float64(n))
	}
}

func (m *Metrics) pushed(bytes int) {
	if m != nil && bytes > 0 {
		m.PushedBytes.Add(float64(bytes))
	}
}

func (m *Metrics) throttledPush() {
	if m != nil {
		m.ThrottledPushes.Inc()
	}
}

func (m *Metrics) replicated(bytes int) {
	if m != nil {
		m.ReplicatedBytes.Add(float64(bytes))
	}
}

func (m *Metrics) isrChanged(shrink bool) {
	if m == nil {
		return
	}
	change := "expand"
	if shrink {
		change = "shrink"
	}
	m.ISRChanges.WithLabelValues(change).Inc()
}

func (m *Metrics) truncated() {
	if m != nil {
		m.Truncations.Inc()
	}
}

func (m *Metrics) replayed(batches int) {
	if m != nil && batches > 0 {
		m.ProducerStateReplayedBatches.Add(float64(batches))
	}
}

func (m *Metrics) recovered(bytes int64) {
	if m != nil && bytes > 0 {
		m.RecoveryScannedBytes.Add(float64(bytes))
	}
}
