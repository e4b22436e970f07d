package node

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/actors/partition"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

// desiredReplica is a partition this node should host, per metadata.
type desiredReplica struct {
	// topic is the topic's definition, recorded in the replica's directory
	// (metaKey is its encoding, to notice changes).
	topic   metadata.Topic
	metaKey string
	topicID string
	config  metadata.TopicConfig
	state   partition.State
}

// recordedTopic is a topic's record (topicRecord) as of a store version.
type recordedTopic struct {
	version uint64
	record  metadata.Topic
	key     string
}

// desiredReplicas lists the partitions of snap assigned to node. A topic
// whose stored configs do not parse (written by a newer version, say) runs
// on the defaults rather than not at all.
//
// records holds each topic's record from the previous call and is
// updated. A topic at the same store version keeps its record, not encoded
// again; a changed one whose encoding is the same keeps the earlier key
// string. Comparing a key with a hosted replica's metaKey (apply) then
// finds the same string and costs nothing, where encoding and comparing
// a topic of 10,000 partitions costs tens of KB per partition.
func desiredReplicas(snap metadata.Snapshot, node int32, defaults metadata.TopicConfig, records map[string]recordedTopic) (map[metadata.TopicPartition]desiredReplica, []error) {
	out := make(map[metadata.TopicPartition]desiredReplica)
	var errs []error
	for name := range records {
		if _, ok := snap.Topics[name]; !ok {
			delete(records, name)
		}
	}
	for _, t := range snap.Topics {
		rt, ok := records[t.Name]
		if !ok || t.Version == 0 || rt.version != t.Version {
			record, key := topicRecord(t)
			if ok && rt.key == key {
				key = rt.key
			}
			rt = recordedTopic{version: t.Version, record: record, key: key}
			records[t.Name] = rt
		}
		record, key := rt.record, rt.key
		cfg, err := t.Config(defaults)
		if err != nil {
			errs = append(errs, fmt.Errorf("topic %s: %w", t.Name, err))
			cfg = defaults
		}
		for p, replicas := range t.Replicas {
			if !slices.Contains(replicas, node) {
				continue
			}
			tp := metadata.TopicPartition{Topic: t.Name, Partition: int32(p)}
			st := partition.State{Leader: -1, Replicas: slices.Clone(replicas)}
			if s, ok := snap.States[tp]; ok {
				st.Leader, st.LeaderEpoch, st.ISR, st.Version = s.Leader, s.LeaderEpoch, slices.Clone(s.ISR), s.Version
			}
			out[tp] = desiredReplica{topic: record, metaKey: key, topicID: t.ID, config: cfg, state: st}
		}
	}
	return out, errs
}

// apply makes the hosted replicas match snap: replicas of deleted topics
// (or of an older incarnation of a topic) delete their data and stop,
// new partitions get a replica, config and state changes are pushed.
// Older snapshots than the current one are ignored.
func (n *node) apply(ctx actor.Context, snap metadata.Snapshot) {
	if n.closing {
		return
	}
	// A store restored after losing its contents starts its indexes over.
	same, restored := n.sameCluster(snap)
	if !same || snap.Index < n.view.Snapshot.Index && !restored {
		return
	}
	n.view.Snapshot = snap
	n.directory.setShuttingDown(snap.ShuttingDown)
	if restored {
		clear(n.topicRecords) // store versions started over
	}
	desired, errs := desiredReplicas(snap, n.cfg.Self.NodeID, n.cfg.TopicDefaults, n.topicRecords)
	for _, err := range errs {
		n.logger.Error("topic config", "error", err)
	}
	if !n.started {
		n.started = true
		n.scanDataDir(snap, desired)
	}
	for tp, r := range n.replicas {
		d, ok := desired[tp]
		if ok && d.topicID == r.topicID {
			continue
		}
		if deletionRecorded(snap, tp, r.topicID) {
			n.logger.Info("removing replica", "partition", tp.String(), "topic_id", r.topicID)
			ctx.Poison(r.pid) // its directory is renamed once it has stopped
			n.deleting[tp] = r.topicID
		} else {
			n.logger.Warn("partition left the metadata without a recorded delete; stopping its replica and keeping its data",
				"partition", tp.String(), "topic_id", r.topicID, "dir", n.partitionDir(tp))
			ctx.Poison(r.pid)
			n.keep(tp, r.topicID)
		}
		n.stopping[tp] = r.pid
		delete(n.replicas, tp)
	}
	spawned, pending := 0, 0
	for tp, d := range desired {
		r, ok := n.replicas[tp]
		switch {
		case !ok:
			_, busy := n.stopping[tp]
			_, deleting := n.deleting[tp]
			if busy || deleting || !n.mayHost(tp, d.topicID) {
				continue
			}
			if spawned >= spawnChunk {
				pending++
				continue
			}
			n.spawn(ctx, tp, d)
			spawned++
		default:
			if r.metaKey != d.metaKey {
				r.metaKey = d.metaKey
				n.meta.enqueue(n.partitionDir(tp), d.topic)
			}
			if r.config != d.config {
				r.config = d.config
				ctx.Send(r.pid, &partition.UpdateConfig{TopicConfig: d.config})
			}
			if !sameState(r.state, d.state) {
				r.state = d.state
				ctx.Send(r.pid, &partition.UpdateState{State: d.state})
			}
		}
	}
	n.ready.pendingReplicas.Store(int64(pending))
	n.ready.started.Store(true)
	n.ready.note()
	if pending > 0 {
		n.scheduleApply(ctx) // the next chunk, after what waits in the mailbox
	}
	// Transaction coordinators follow this node's leadership of
	// __transaction_state.
	n.txns.Reconcile(ctx, n.view)
	n.checkShutdown(ctx)
}

func (n *node) spawn(ctx actor.Context, tp metadata.TopicPartition, d desiredReplica) {
	cfg := partition.Config{
		Topic:                  tp.Topic,
		Partition:              tp.Partition,
		NodeID:                 n.cfg.Self.NodeID,
		Dir:                    n.partitionDir(tp),
		TopicConfig:            d.config,
		MaxRequestBytes:        n.cfg.MaxRequestBytes,
		IndexIntervalBytes:     n.cfg.IndexIntervalBytes,
		RetentionCheckInterval: n.cfg.RetentionCheckInterval,
		Flusher:                n.cfg.Flusher,
		Limits:                 n.cfg.Limits,
		Cleaner:                n.cfg.Cleaner,
		Opens:                  n.opens,
		Logger:                 n.logger,
		Metrics:                n.cfg.Metrics,
		Gauges:                 n.cfg.Gauges,
		Peer:                   n.directory.Peer(tp.Topic, tp.Partition),
		ShuttingDown:           n.directory.ShuttingDown,
		Store:                  n.cfg.Store,
		Replication:            n.cfg.Replication,
		Throttle:               n.cfg.ReplicationThrottle,
		LogOptions:             n.logOpts,
	}
	if n.offline != nil {
		cfg.Offline = n.offline
	}
	var once sync.Once
	opening := &n.ready.openingReplicas
	opening.Add(1)
	cfg.Opened = func() {
		once.Do(func() {
			if opening.Add(-1) == 0 {
				n.ready.note() // the last log open may be what made the node ready
			}
		})
	}
	pid, err := ctx.SpawnNamed(partition.Props(cfg, d.state), messages.ReplicaActorName(tp.Topic, tp.Partition))
	if err != nil {
		n.logger.Error("spawn replica", "partition", tp.String(), "error", err)
		cfg.Opened()
		return
	}
	n.byPID[pid.GetId()] = tp
	n.replicas[tp] = &hostedReplica{pid: pid, topicID: d.topicID, metaKey: d.metaKey, config: d.config, state: d.state}
	if n.offline == nil {
		n.meta.enqueue(n.partitionDir(tp), d.topic)
	}
}

// partitionDir is <data>/<topic>-<partition>.
func (n *node) partitionDir(tp metadata.TopicPartition) string {
	return filepath.Join(n.cfg.DataDir, tp.Topic+"-"+strconv.Itoa(int(tp.Partition)))
}

// parsePartitionDir splits "<topic>-<partition>".
func parsePartitionDir(name string) (metadata.TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return metadata.TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 || metadata.ValidateTopicName(name[:i]) != nil {
		return metadata.TopicPartition{}, false
	}
	return metadata.TopicPartition{Topic: name[:i], Partition: int32(p)}, true
}

// isLogDir reports whether dir looks like a commitlog directory.
func isLogDir(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, commitlog.OffsetsCheckpointFile)); err == nil {
		return true
	}
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	return err == nil && len(logs) > 0
}

func sameState(a, b partition.State) bool {
	return a.Leader == b.Leader && a.LeaderEpoch == b.LeaderEpoch && a.Version == b.Version &&
		slices.Equal(a.Replicas, b.Replicas) && slices.Equal(a.ISR, b.ISR)
}
