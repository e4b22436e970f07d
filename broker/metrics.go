package broker

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-mq/sluice/cluster/controller"
)

// controllerCollector exports a Controller's Stats. The cluster-wide
// gauges (offline partitions, topic and partition counts) are reported by
// the active controller only, 0 elsewhere, as Kafka's are.
type controllerCollector struct{ stats *controller.Stats }

var (
	descControllerActive = prometheus.NewDesc("sluice_controller_active", "1 while this node is the active controller.", nil, nil)
	descElections        = prometheus.NewDesc("sluice_leader_elections_total", "Partitions this node, as controller, gave a new leader.", nil, nil)
	descUnclean          = prometheus.NewDesc("sluice_unclean_leader_elections_total", "Leader elections of a replica outside the ISR (unclean.leader.election.enable).", nil, nil)
	descPreferred        = prometheus.NewDesc("sluice_preferred_leader_elections_total", "Partitions this node, as controller, moved back to their preferred replica (elect-leaders, ElectLeaders, auto leader rebalance).", nil, nil)
	descWentOffline      = prometheus.NewDesc("sluice_partitions_went_offline_total", "Partitions this node, as controller, left with no leader (no live in-sync replica).", nil, nil)
	descOffline          = prometheus.NewDesc("sluice_offline_partitions", "Partitions with no leader (on the active controller).", nil, nil)
	descTopics           = prometheus.NewDesc("sluice_cluster_topics", "Topics in the cluster (on the active controller).", nil, nil)
	descPartitions       = prometheus.NewDesc("sluice_cluster_partitions", "Partitions in the cluster (on the active controller).", nil, nil)
)

// Describe implements prometheus.Collector.
func (c controllerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descControllerActive, descElections, descUnclean, descPreferred, descWentOffline, descOffline, descTopics, descPartitions} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c controllerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats
	active := s.Active.Load()
	value := func(v int64) float64 {
		if !active {
			return 0
		}
		return float64(v)
	}
	activeValue := 0.0
	if active {
		activeValue = 1
	}
	ch <- prometheus.MustNewConstMetric(descControllerActive, prometheus.GaugeValue, activeValue)
	ch <- prometheus.MustNewConstMetric(descElections, prometheus.CounterValue, float64(s.Elections.Load()))
	ch <- prometheus.MustNewConstMetric(descUnclean, prometheus.CounterValue, float64(s.Unclean.Load()))
	ch <- prometheus.MustNewConstMetric(descPreferred, prometheus.CounterValue, float64(s.Preferred.Load()))
	ch <- prometheus.MustNewConstMetric(descWentOffline, prometheus.CounterValue, float64(s.WentOffline.Load()))
	ch <- prometheus.MustNewConstMetric(descOffline, prometheus.GaugeValue, value(s.Offline.Load()))
	ch <- prometheus.MustNewConstMetric(descTopics, prometheus.GaugeValue, value(s.Topics.Load()))
	ch <- prometheus.MustNewConstMetric(descPartitions, prometheus.GaugeValue, value(s.Partitions.Load()))
}
