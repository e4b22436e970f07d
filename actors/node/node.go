package node

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	ctlactor "github.com/sluice-mq/sluice/actors/controller"
	"github.com/sluice-mq/sluice/actors/group"
	"github.com/sluice-mq/sluice/actors/partition"
	"github.com/sluice-mq/sluice/actors/txn"
	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/controller"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/cluster/producerid"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

// Replica supervision: a replica that panics is restarted (and reopens its
// log) up to maxReplicaRestarts times within replicaRestartWindow; past
// that it is stopped and the next metadata change spawns it again.
const (
	maxReplicaRestarts   = 10
	replicaRestartWindow = 10 * time.Second
)

// replicaOpeners is how many replicas open their logs at once
// (partition.OpenLimit): enough to keep a disk busy, few enough that the
// guardian and the network are not starved by threads in file syscalls.
const replicaOpeners = 8

// Internal messages: watch goroutines and admin goroutines report with
// these. They never leave the process.
type (
	// snapshotReady says a new snapshot waits in node.latest.
	snapshotReady  struct{}
	membersChanged struct{ members []cluster.Member }
	// drainRequest stops every replica (each answers what it holds and
	// closes its log); the answer is drained once all have stopped.
	drainRequest struct{}
	drained      struct{}
)

// hostedReplica is a replica child and what it was last told.
type hostedReplica struct {
	pid     *actor.PID
	topicID string
	metaKey string // the topic definition last recorded in its directory
	config  metadata.TopicConfig
	state   partition.State
}

// node is the guardian actor. Owned by the actor; never touched outside
// Receive, except cfg (read-only) and the goroutine bookkeeping below.
type node struct {
	cfg    Config
	ctl    *controller.Controller
	groups *group.Host
	txns   *txn.Host
	logger *slog.Logger

	view controller.ClusterView
	// latest passes snapshots from the metadata watch (watch.go).
	latest *snapshotSlot
	// topicRecords holds each topic's last recorded definition and its
	// key (metaKey) by store version, so an unchanged topic is neither
	// encoded again nor compared per partition (reconcile.go).
	topicRecords map[string]recordedTopic
	// opens bounds the replicas opening their logs at once.
	opens    *partition.OpenLimit
	replicas map[metadata.TopicPartition]*hostedReplica
	// meta records hosted replicas' topic definitions in their directories.
	meta *metaWriter
	// deleter renames and later removes deleted replicas' directories;
	// deleting holds the partitions (and topic ids) whose directory is to
	// be renamed, from the replica's stop until dirRenamed: the partition
	// is not hosted again meanwhile.
	deleter  *deleter
	deleting map[metadata.TopicPartition]string
	// directory publishes the live members' addresses to the replicas.
	directory *Directory
	// controller is the controller loop child (actors/controller).
	controller *actor.PID
	// storeLost is set while the store's snapshots lack this cluster's id.
	storeLost bool
	// stopping holds replicas told to stop or delete whose Terminated has
	// not arrived; a partition is not respawned while its old actor lives.
	stopping map[metadata.TopicPartition]*actor.PID
	// byPID finds the partition of a replica child (hosted or stopping)
	// by its actor id, so a Terminated costs a lookup, not a scan.
	byPID map[string]metadata.TopicPartition
	// reapplyQueued is set while a reapply message is in the mailbox.
	reapplyQueued bool
	// ready is published to /healthz.
	ready    *Readiness
	draining *actor.PID // who asked for the drain until it is answered
	// leaving is the controlled shutdown in progress (shutdown.go).
	leaving *leavingState
	// closing is set by a drain or Stopping and never cleared: no replica
	// is spawned and no admin request served from then on.
	closing bool
	started bool // the first snapshot was applied (unknown dirs reported)
	// kept holds partition directories kept without a replica (no
	// recorded delete), by the topic id of their data ("" if unknown);
	// conflictLogged limits the log of a topic that cannot be hosted over
	// one to once.
	kept           map[metadata.TopicPartition]string
	conflictLogged map[metadata.TopicPartition]bool
	// producerIDs hands out producer ids from blocks claimed in the
	// store; initQueue holds InitProducerId requests waiting for a claim.
	producerIDs *producerid.Allocator
	initQueue   []queuedInit
	// logOpts are every replica's log options (logdir.go); offline is the
	// failure that took the data dir offline (nil: online), published in
	// logDirs.
	logOpts []commitlog.Option
	offline *commitlog.FailedError
	logDirs *LogDirs

	// Goroutines (watches, admin calls) run under runCtx and are waited
	// for on Stopping.
	runCtx context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Props returns the props of the node guardian, to be spawned as
// messages.NodeActorID. It panics on a Config without Store, Membership or
// DataDir (a programming error).
func Props(cfg Config) *actor.Props {
	if err := cfg.validate(); err != nil {
		panic(err)
	}
	decider := func(reason any) actor.Directive { return actor.RestartDirective }
	strategy := actor.NewOneForOneStrategy(maxReplicaRestarts, replicaRestartWindow, decider)
	return actor.PropsFromProducer(func() actor.Actor { return newNode(cfg) }, actor.WithSupervisor(strategy))
}

func newNode(cfg Config) *node {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	ctl := cfg.Controller
	if ctl == nil {
		ctl = controller.New(cfg.Store, cfg.Membership, cfg.TopicDefaults)
	}
	groupCfg := cfg.Groups
	if groupCfg.Logger == nil {
		groupCfg.Logger = logger
	}
	txnCfg := cfg.Txns
	if txnCfg.Logger == nil {
		txnCfg.Logger = logger
	}
	directory := cfg.Directory
	if directory == nil {
		directory = NewDirectory(nil)
	}
	directory.set([]cluster.Member{cfg.Self})
	logDirs := cfg.LogDirs
	if logDirs == nil {
		logDirs = NewLogDirs()
	}
	ready := cfg.Readiness
	if ready == nil {
		ready = NewReadiness()
	}
	return &node{
		logDirs:      logDirs,
		cfg:          cfg,
		ctl:          ctl,
		groups:       group.NewHost(cfg.Self.NodeID, ctl.CreateInternalTopic, groupCfg),
		txns:         txn.NewHost(cfg.Self.NodeID, ctl.CreateInternalTopic, txnCfg),
		logger:       logger,
		view:         controller.ClusterView{ControllerID: -1, Members: []cluster.Member{cfg.Self}},
		directory:    directory,
		replicas:     make(map[metadata.TopicPartition]*hostedReplica),
		latest:       &snapshotSlot{},
		topicRecords: make(map[string]recordedTopic),
		opens:        partition.NewOpenLimit(replicaOpeners),
		meta:         newMetaWriter(),
		deleter:      newDeleter(cfg.FileDeleteDelay),
		deleting:     make(map[metadata.TopicPartition]string),
		stopping:     make(map[metadata.TopicPartition]*actor.PID),
		byPID:        make(map[string]metadata.TopicPartition),
		ready:        ready,

		kept:           make(map[metadata.TopicPartition]string),
		conflictLogged: make(map[metadata.TopicPartition]bool),
		producerIDs:    producerid.NewAllocator(cfg.ProducerIDBlockSize),
	}
}

// Receive is a type switch over the guardian's messages.
func (n *node) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		n.handleStarted(ctx)
	case *actor.Stopping:
		n.failInitQueue(ctx)
		n.handleStopping()
	case *actor.Terminated:
		n.handleTerminated(ctx, m)

	case *snapshotReady:
		if snap, ok := n.latest.take(); ok {
			n.apply(ctx, snap)
		}
	case *dirRenamed:
		n.handleDirRenamed(ctx, m)
	case *logDirFailed:
		n.handleLogDirFailed(ctx, m)
	case *membersChanged:
		n.handleMembersChanged(ctx, m)
	case *controllerChanged:
		n.view.ControllerID = m.id
		n.ready.controllerKnown.Store(m.id >= 0)
		n.ready.note()
	case *reapply:
		n.reapplyQueued = false
		n.apply(ctx, n.view.Snapshot)
	case *ctlactor.RoleChanged:
		n.handleRoleChanged(m)
	case *drainRequest:
		n.handleDrain(ctx)
	case *shutdownRequest:
		n.handleShutdownRequest(ctx)
	case *shutdownRecorded:
		n.handleShutdownRecorded(ctx, m)
	case *blockClaimed:
		n.handleBlockClaimed(ctx, m)

	case *messages.MetadataRequest:
		resp := controller.Metadata(n.view, m)
		resp.TopicDefaults = n.cfg.TopicDefaults.Map()
		ctx.Respond(resp)
	case *messages.CreateTopicRequest:
		n.handleAdmin(ctx, func(c context.Context) any { return n.ctl.CreateTopic(c, m) })
	case *messages.DeleteTopicRequest:
		n.handleAdmin(ctx, func(c context.Context) any { return n.ctl.DeleteTopic(c, m) })
	case *messages.CreatePartitionsRequest:
		n.handleAdmin(ctx, func(c context.Context) any { return n.ctl.CreatePartitions(c, m) })
	case *messages.AlterConfigsRequest:
		n.handleAdmin(ctx, func(c context.Context) any { return n.ctl.AlterConfigs(c, m) })
	case *messages.ReassignPartitionRequest:
		n.handleAdmin(ctx, func(c context.Context) any { return n.ctl.ReassignPartition(c, m) })
	case *messages.ListReassignmentsRequest:
		n.handleAdmin(ctx, func(c context.Context) any { return n.ctl.ListReassignments(c, m) })
	case *messages.ElectLeadersRequest:
		n.handleAdmin(ctx, func(c context.Context) any { return n.ctl.Elect(c, m) })
	case *messages.DecommissionNodeRequest:
		n.handleAdmin(ctx, func(c context.Context) any { return n.ctl.Decommission(c, m) })

	case *messages.ProduceRequest:
		n.route(ctx, m.Topic, m.Partition)
	case *messages.FetchRequest:
		n.route(ctx, m.Topic, m.Partition)
	case *partition.FileFetchRequest:
		n.route(ctx, m.Topic, m.Partition)
	case *partition.CancelFetch:
		n.route(ctx, m.Topic, m.Partition)
	case *messages.ListOffsetsRequest:
		n.route(ctx, m.Topic, m.Partition)
	case *messages.PartitionStatusRequest:
		n.route(ctx, m.Topic, m.Partition)
	case *messages.DescribeProducersRequest:
		n.route(ctx, m.Topic, m.Partition)
	case *messages.OffsetsForLeaderEpochRequest:
		n.route(ctx, m.Topic, m.Partition)
	case *messages.DeleteRecordsRequest:
		n.route(ctx, m.Topic, m.Partition)
	case *messages.LogDirsRequest:
		ctx.Respond(n.describeLogDirs())

	case *messages.InitProducerIdRequest:
		if m.TransactionalId != "" {
			n.txns.Handle(ctx, n.view)
			return
		}
		n.handleInitProducerID(ctx, m)

	case *messages.AddOffsetsToTxnRequest:
		// The group's offsets partition must exist before the transaction
		// can take it in.
		n.groups.EnsureOffsetsTopic(ctx, n.view)
		n.txns.Handle(ctx, n.view)

	default:
		// Transaction requests: FindCoordinator for a transactional id,
		// AddPartitions/AddOffsets/EndTxn, describe/list.
		if n.txns.Handle(ctx, n.view) {
			return
		}
		// Consumer group requests: FindCoordinator, Join/Sync/Heartbeat/
		// Leave, offsets, describe/list/delete.
		n.groups.Handle(ctx, n.view)
	}
}

func (n *node) handleStarted(ctx actor.Context) {
	n.runCtx, n.cancel = context.WithCancel(context.Background())
	n.initLogOptions(ctx)
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.meta.run(n.runCtx, func(dir string, err error) {
			n.logger.Error("record partition metadata", "dir", dir, "error", err)
		})
	}()
	root, self := ctx.ActorSystem().Root, ctx.Self()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.deleter.run(n.runCtx, func(m any) { root.Send(self, m) }, func(msg, dir string, err error) {
			n.logger.Error(msg, "dir", dir, "error", err)
		})
	}()
	if n.cfg.Initial.Topics != nil {
		n.apply(ctx, n.cfg.Initial)
	}
	n.startWatches(ctx)
	n.spawnController(ctx)
	// Claim the first producer-id block now, so idempotent producers can
	// start while the metadata store is briefly unreachable.
	n.maybeClaimBlock(ctx)
}

// handleStopping ends the goroutines; children are stopped by the actor
// system after this (each closes its log on its own Stopping).
func (n *node) handleStopping() {
	n.closing = true
	if n.cancel != nil {
		n.cancel()
	}
	n.wg.Wait()
}

func (n *node) handleTerminated(ctx actor.Context, m *actor.Terminated) {
	tp, ok := n.byPID[m.Who.GetId()]
	if !ok {
		return
	}
	if pid, ok := n.stopping[tp]; ok && pid.Equal(m.Who) {
		delete(n.byPID, m.Who.GetId())
		delete(n.stopping, tp)
		if topicID, ok := n.deleting[tp]; ok {
			n.deleter.markDeleted(tp, n.partitionDir(tp), topicID)
		}
	}
	if r, ok := n.replicas[tp]; ok && r.pid.Equal(m.Who) {
		// Stopped on its own (restart limit): spawn it again on the
		// next snapshot.
		n.logger.Warn("replica stopped", "partition", tp.String())
		delete(n.byPID, m.Who.GetId())
		delete(n.replicas, tp)
	}
	if n.closing {
		if n.draining != nil && len(n.replicas) == 0 && len(n.stopping) == 0 {
			ctx.Send(n.draining, &drained{})
			n.draining = nil
		}
		return
	}
	if n.assigned(tp) {
		n.scheduleApply(ctx) // respawn what was waiting for this stop
	}
}

// assigned reports whether the current metadata assigns tp to this node.
func (n *node) assigned(tp metadata.TopicPartition) bool {
	t, ok := n.view.Snapshot.Topics[tp.Topic]
	return ok && int(tp.Partition) < len(t.Replicas) && slices.Contains(t.Replicas[tp.Partition], n.cfg.Self.NodeID)
}

// handleDirRenamed lets a partition whose old directory was renamed away
// be hosted again.
func (n *node) handleDirRenamed(ctx actor.Context, m *dirRenamed) {
	delete(n.deleting, m.tp)
	if m.err != nil {
		// Still in place: keep it rather than host a new replica over it.
		n.keep(m.tp, "")
	}
	if n.assigned(m.tp) {
		n.scheduleApply(ctx)
	}
}

// handleDrain stops every replica gracefully; the requester gets drained
// when the last one has stopped. Metadata changes are ignored from now on.
func (n *node) handleDrain(ctx actor.Context) {
	n.closing = true
	if n.cancel != nil {
		n.cancel()
	}
	n.draining = ctx.Sender()
	n.failInitQueue(ctx)
	for tp, r := range n.replicas {
		ctx.Poison(r.pid)
		n.stopping[tp] = r.pid
		delete(n.replicas, tp)
	}
	if len(n.stopping) == 0 {
		ctx.Respond(&drained{})
		n.draining = nil
	}
}

// Drain asks the node guardian at pid to stop every replica gracefully:
// queued requests are served, pending produces answered, logs flushed and
// closed with their clean-shutdown marker. It returns when all replicas
// have stopped or timeout passes. Stop the guardian afterwards.
func Drain(system *actor.ActorSystem, pid *actor.PID, timeout time.Duration) error {
	_, err := system.Root.RequestFuture(pid, &drainRequest{}, timeout).Result()
	return err
}

// route serves a partition request sent to the guardian instead of the
// replica: forwarded (sender kept) to a hosted replica, else answered with
// UNKNOWN_TOPIC_OR_PARTITION, or NOT_LEADER_OR_FOLLOWER when the partition
// exists but is hosted elsewhere.
func (n *node) route(ctx actor.Context, topic string, partition int32) {
	tp := metadata.TopicPartition{Topic: topic, Partition: partition}
	if r, ok := n.replicas[tp]; ok {
		ctx.Forward(r.pid)
		return
	}
	err := messages.Wrap(messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, "unknown partition %s", tp)
	if t, ok := n.view.Snapshot.Topics[topic]; ok && partition >= 0 && int(partition) < t.Partitions() {
		err = messages.Wrap(messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, "node %d does not host %s", n.cfg.Self.NodeID, tp)
	}
	if ctx.Sender() != nil {
		ctx.Respond(errorResponse(ctx.Message(), err))
	}
}
