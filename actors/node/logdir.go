package node

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/actors/partition"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

// A node has one log directory, its data dir. When a log in it fails (a
// write, fsync, rename or delete error, or an I/O error opening a log) the
// node takes the whole dir offline, as Kafka does on a log dir failure
// (KIP-112): every replica stops leading and following and answers
// KAFKA_STORAGE_ERROR, the node records the offline dir under
// metadata.LogDirsPrefix so the controller moves its leaderships and
// drops it from the ISRs, and it goes on serving metadata, admin and
// group requests. It stays offline until the node is restarted (after
// the disk is fixed), when recovery on open checks every log.

// logDirFailed reports a log failure from the goroutine that met it.
type logDirFailed struct{ err *commitlog.FailedError }

// Backoff of the offline record's write while the store refuses it.
const (
	recordRetryMin = 100 * time.Millisecond
	recordRetryMax = 5 * time.Second
)

// LogDirs publishes the state of the node's log directory to its admin
// HTTP server (/cluster, /healthz, /metrics). It is safe for concurrent
// use.
type LogDirs struct {
	mu      sync.Mutex
	offline []metadata.OfflineDir
}

// NewLogDirs returns a LogDirs with every dir online.
func NewLogDirs() *LogDirs { return &LogDirs{} }

// Offline returns the offline log dirs; none while the node is healthy.
func (d *LogDirs) Offline() []metadata.OfflineDir {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.offline)
}

func (d *LogDirs) add(o metadata.OfflineDir) {
	d.mu.Lock()
	d.offline = append(d.offline, o)
	d.mu.Unlock()
}

// logOptions are the options every replica's log is opened with: the
// failure handler that reports to the node, and the configured file
// layer.
func (n *node) initLogOptions(ctx actor.Context) {
	root, self := ctx.ActorSystem().Root, ctx.Self()
	n.logOpts = []commitlog.Option{commitlog.WithFailureHandler(func(e *commitlog.FailedError) {
		root.Send(self, &logDirFailed{err: e})
	})}
	if n.cfg.LogFS != nil {
		n.logOpts = append(n.logOpts, commitlog.WithFS(n.cfg.LogFS))
	}
	if m := n.cfg.Metrics; m != nil {
		n.logOpts = append(n.logOpts, commitlog.WithSyncObserver(m.ObserveFsync))
	}
}

// handleLogDirFailed takes the data dir offline on the first failure of
// one of its logs; later failures (the other logs failed in turn) only
// confirm it.
func (n *node) handleLogDirFailed(ctx actor.Context, m *logDirFailed) {
	if n.offline != nil {
		n.logger.Debug("log failed in offline log dir", "log", m.err.Dir, "error", m.err.Err)
		return
	}
	n.offline = m.err
	rec := metadata.OfflineDir{Dir: n.cfg.DataDir, Error: m.err.Error(), SinceMs: time.Now().UnixMilli()}
	n.logDirs.add(rec)
	n.logger.Error("log dir offline: its replicas stop leading and following; fix the disk and restart the node",
		"dir", n.cfg.DataDir, "log", m.err.Dir, "op", m.err.Op, "disk_full", m.err.DiskFull(), "error", m.err.Err)
	for _, r := range n.replicas {
		ctx.Send(r.pid, &partition.LogDirOffline{Err: m.err})
	}
	n.recordOffline(metadata.NodeLogDirs{NodeID: n.cfg.Self.NodeID, Offline: []metadata.OfflineDir{rec}})
}

// recordOffline writes the node's offline record to the store, retrying
// with backoff until it is written or the node stops.
func (n *node) recordOffline(rec metadata.NodeLogDirs) {
	if n.runCtx == nil {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		wait := recordRetryMin
		for {
			ctx, cancel := context.WithTimeout(n.runCtx, n.cfg.adminTimeout())
			err := metadata.PutLogDirs(ctx, n.cfg.Store, rec)
			cancel()
			if err == nil {
				n.logger.Info("offline log dir recorded in the cluster metadata", "dir", n.cfg.DataDir)
				return
			}
			if n.runCtx.Err() != nil || errors.Is(err, context.Canceled) {
				return
			}
			n.logger.Warn("record offline log dir; retrying", "error", err, "retry_in", wait)
			t := time.NewTimer(wait)
			select {
			case <-n.runCtx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			wait = min(2*wait, recordRetryMax)
		}
	}()
}

// describeLogDirs answers a LogDirsRequest (Kafka's DescribeLogDirs): the
// data dir and the size of every replica hosted in it, or
// KAFKA_STORAGE_ERROR and no partitions when it is offline. Sizes come
// from the logs' published gauges, so no replica is asked.
func (n *node) describeLogDirs() *messages.LogDirsResponse {
	dir := &messages.LogDir{Path: n.cfg.DataDir}
	if n.offline != nil {
		dir.ErrorCode = messages.ErrorCode_KAFKA_STORAGE_ERROR
		dir.ErrorMessage = n.offline.Error()
		return &messages.LogDirsResponse{Dirs: []*messages.LogDir{dir}}
	}
	for tp := range n.replicas {
		size, _ := n.cfg.Gauges.LogSize(tp.Topic, tp.Partition)
		dir.Partitions = append(dir.Partitions, &messages.LogDirPartition{Topic: tp.Topic, Partition: tp.Partition, SizeBytes: size})
	}
	slices.SortFunc(dir.Partitions, func(a, b *messages.LogDirPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	return &messages.LogDirsResponse{Dirs: []*messages.LogDir{dir}}
}
