package partition

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/replication"
	"github.com/sluice-mq/sluice/storage/commitlog"
	"github.com/sluice-mq/sluice/storage/producerstate"
	"github.com/sluice-mq/sluice/storage/txnindex"
)

// Messages the node guardian sends its replica children. They never leave
// the process.
type (
	// UpdateState carries a new metadata state (leader, epoch, ISR); the
	// replica switches behaviour when its role changes.
	UpdateState struct{ State State }
	// UpdateConfig carries the topic's new effective configuration; the
	// replica reopens its log when a log setting changed.
	UpdateConfig struct{ TopicConfig metadata.TopicConfig }
	// DeleteLog makes the replica answer what it holds, delete its log
	// directory and stop itself.
	DeleteLog struct{}
	// LogDirOffline says the node's log directory failed (Err: the first
	// failure): the replica stops leading or following, fails its log
	// and answers KAFKA_STORAGE_ERROR until the node restarts.
	LogDirOffline struct{ Err error }
)

// Internal messages a replica sends itself.
type (
	// durable: the log is fsynced through offset (interval policy).
	durable struct {
		offset int64
		err    error
	}
	fetchExpired    struct{ id uint64 }
	maintenanceTick struct{}
	maintenanceDone struct {
		rolled  bool
		deleted int
		err     error
	}
)

// replica is the actor of one hosted partition replica. Every field is
// owned by the actor and only touched inside Receive.
type replica struct {
	behavior actor.Behavior
	cfg      Config
	state    State
	// latest is shared with the props' producer: a replica restarted after
	// a panic starts from the last config and state it was given, not the
	// ones it was spawned with. Written only inside Receive; the producer
	// runs on the same mailbox during the restart.
	latest *latest
	log    *commitlog.Log
	logger *slog.Logger

	progress progress
	// acks holds acks=1 responses waiting for the flush policy, allAcks
	// acks=all responses waiting for the ISR and the flush policy.
	acks    ackQueue[pendingProduce]
	allAcks allAckList[pendingProduce]
	// pendingBytes is the record bytes of acks and allAcks (bounded by
	// Config.MaxPendingProduceBytes).
	pendingBytes int64
	// durableEnd is the offset below which the log is written as its
	// flush policy requires; the leader's high watermark never passes it.
	durableEnd int64
	parked     fetchWaitList[parkedRequest]
	// producers is the partition's producer state (producers.go), set
	// while the log is open; snapBase is the active segment's base
	// offset when the last snapshot was queued.
	producers *producerstate.State
	snapBase  int64
	snapshots *snapshotter
	// txns is the aborted-transaction index, open with the log.
	txns *txnindex.Index
	// stable is the last stable offset, published for the log cleaner's
	// threads (it cleans nothing past it).
	stable *atomic.Int64

	timers map[uint64]*time.Timer // fetch expiry timers by parked id

	// Replication. lead is set in the leader behaviour, follow in the
	// follower behaviour once a leader is known; leadGen and followGen
	// tell timer messages of an earlier one apart.
	lead       *replication.Leader
	leadGen    uint64
	fenced     bool // a follower reported a newer epoch (logged once)
	tickTimer  *time.Timer
	hot        hotAppend
	follow     *replication.Follower
	followGen  uint64
	queryTimer *time.Timer
	// isrWrite is the id of the ISR write in flight (0: none); isrCtx
	// cancels the write goroutines, isrWG waits for them.
	isrSeq, isrWrite uint64
	isrCtx           context.Context
	isrCancel        context.CancelFunc
	isrWG            sync.WaitGroup
	// stateVersion is the newest metadata version of the partition state
	// seen; older UpdateStates are ignored.
	stateVersion uint64

	// diskOp is closed when the handed-off disk operation in flight ends
	// (nil: none); deferred holds what arrived meanwhile (diskop.go).
	diskOp   chan struct{}
	deferred deferredWork

	// trimDone is closed when the running trim (DeleteRecords) ends
	// (nil: none); trimGen tells its completion from one a close waited
	// for; trimTarget is the log start asked for; trimWaiters the
	// leader's DeleteRecords requests waiting for it (deleterecords.go).
	trimDone    chan struct{}
	trimGen     uint64
	trimTarget  int64
	trimWaiters []trimWaiter

	maintenanceTimer *time.Timer
	maintenanceDone  chan struct{} // non-nil while a maintenance run is in flight
	deleted          bool
	// received is when the produce or fetch request being handled
	// arrived (for Metrics.RequestDuration).
	received time.Time
	// stats is what the replica publishes to Config.Gauges (nil: none),
	// held from Started until the actor stops.
	stats *partitionStats
	// offline is the failure that took the log dir offline (nil: none);
	// the replica then refuses everything and never reopens its log.
	offline error
}

// latest is the configuration and state a (re)started replica begins with.
type latest struct {
	cfg   Config
	state State
}

// Props returns the props of a replica actor for cfg, starting in state.
// The parent's supervisor decides what a panic does; a restarted replica
// reopens its log with the config and state it last had. opts are added to
// the props (middleware, mailbox).
func Props(cfg Config, state State, opts ...actor.PropsOption) *actor.Props {
	l := &latest{cfg: cfg, state: state}
	return actor.PropsFromProducer(func() actor.Actor { return newReplica(l) }, opts...)
}

func newReplica(l *latest) *replica {
	logger := l.cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	r := &replica{
		cfg:          l.cfg,
		state:        l.state,
		latest:       l,
		logger:       logger.With("topic", l.cfg.Topic, "partition", l.cfg.Partition),
		timers:       make(map[uint64]*time.Timer),
		stable:       new(atomic.Int64),
		stateVersion: l.state.Version,
	}
	r.behavior.Become(r.initializing)
	return r
}

// Receive dispatches to the current behaviour, then publishes the role
// the message may have changed.
func (r *replica) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *messages.ProduceRequest, *messages.FetchRequest, *FileFetchRequest:
		r.received = time.Now()
	}
	r.behavior.Receive(ctx)
	switch ctx.Message().(type) {
	case *actor.Stopping, *actor.Restarting:
		r.releaseStats()
	default:
		r.publishRole()
	}
}

// publishRole publishes the replica's role to the node's gauges: leading
// (with the ISR its replication core has) or following.
func (r *replica) publishRole() {
	if r.stats == nil {
		return
	}
	isr := len(r.state.ISR)
	if r.lead != nil {
		isr = len(r.lead.ISR())
	}
	r.stats.setRole(r.lead != nil, len(r.state.Replicas), isr, int(r.cfg.TopicConfig.MinInsyncReplicas))
}

// releaseStats takes the replica's series off the node's gauges.
func (r *replica) releaseStats() {
	r.cfg.Gauges.release(r.stats)
	r.stats = nil
}

// initializing opens the log on Started, then takes the role the metadata
// state gives this node.
func (r *replica) initializing(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		r.stats = r.cfg.Gauges.acquire(r.cfg.Topic, r.cfg.Partition)
		if r.cfg.Opened != nil {
			defer r.cfg.Opened()
		}
		if r.cfg.Offline != nil {
			r.offline = r.cfg.Offline
			r.behavior.Become(r.failed)
			return
		}
		r.cfg.Opens.acquire()
		defer r.cfg.Opens.release()
		if err := r.openLog(); err != nil {
			r.logger.Error("open partition log", "dir", r.cfg.Dir, "error", err)
			r.behavior.Become(r.failed)
			return
		}
		r.scheduleMaintenance(ctx)
		r.takeRole(ctx)
	default:
		r.failed(ctx)
	}
}

// failed answers every request with KAFKA_STORAGE_ERROR: the log could not
// be opened, or its log dir is offline. A new UpdateConfig retries the
// open, unless the dir is offline.
func (r *replica) failed(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *LogDirOffline:
		if r.offline == nil {
			r.offline = m.Err
		}
	case *UpdateConfig:
		r.cfg.TopicConfig = m.TopicConfig
		r.latest.cfg.TopicConfig = m.TopicConfig
		if r.offline != nil {
			return
		}
		if err := r.openLog(); err != nil {
			r.logger.Error("open partition log", "dir", r.cfg.Dir, "error", err)
			return
		}
		r.scheduleMaintenance(ctx)
		r.takeRole(ctx)
	case *UpdateState:
		if m.State.Version == 0 || m.State.Version >= r.stateVersion {
			r.state = m.State
			r.latest.state = m.State
			r.stateVersion = max(r.stateVersion, m.State.Version)
		}
	case *DeleteLog:
		r.deleteLog(ctx)
	default:
		r.refuse(ctx, r.storageError())
	}
}

// takeRole becomes leader or follower according to r.state.
func (r *replica) takeRole(ctx actor.Context) {
	if r.state.Leader == r.cfg.NodeID {
		r.becomeLeader(ctx)
		return
	}
	r.becomeFollower(ctx)
}

// becomeLeader starts a leader epoch: the epoch is recorded at the log
// end, then the replication core takes over (see startLeader). Alone in
// the ISR, the leader's log end is committed at once: what the log holds
// after open survived the previous run.
func (r *replica) becomeLeader(ctx actor.Context) {
	r.stopFollower()
	if r.state.LeaderEpoch > r.log.LatestEpoch() {
		if err := r.log.AssignEpoch(r.state.LeaderEpoch, r.log.LogEndOffset()); err != nil {
			r.logger.Error("assign leader epoch", "epoch", r.state.LeaderEpoch, "error", err)
		}
	}
	r.behavior.Become(r.leader)
	r.startLeader(ctx)
	r.fenceParked(ctx)
}

// becomeFollower ends a leader epoch (waiting produces fail, parked
// fetches are refused) and follows the leader the metadata names.
func (r *replica) becomeFollower(ctx actor.Context) {
	r.stopLeader(ctx)
	for _, p := range r.parked.drain() {
		r.stopTimer(p.id)
		r.answerFetchError(ctx, p, messages.ErrNotLeaderOrFollower)
	}
	r.behavior.Become(r.follower)
	r.startFollower(ctx)
}

// stopFollower forgets the Follower and its retry timer.
func (r *replica) stopFollower() {
	r.follow = nil
	r.followGen++
	if r.queryTimer != nil {
		r.queryTimer.Stop()
		r.queryTimer = nil
	}
}

// leader serves produce, fetch and offset requests and drives the
// replication to its followers.
func (r *replica) leader(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.ProduceRequest:
		r.handleProduce(ctx, m)
	case *messages.FetchRequest:
		r.handleFetch(ctx, m, false)
	case *FileFetchRequest:
		r.handleFetch(ctx, m.FetchRequest, true)
	case *messages.ListOffsetsRequest:
		r.handleListOffsets(ctx, m)
	case *messages.WriteTxnMarkerRequest:
		r.handleWriteTxnMarker(ctx, m)
	case *messages.DescribeProducersRequest:
		r.handleDescribeProducers(ctx, m)
	case *messages.DeleteRecordsRequest:
		r.handleDeleteRecords(ctx, m)
	case *fetchExpired:
		r.handleFetchExpired(ctx, m)
	case *CancelFetch:
		r.handleCancelFetch(ctx, m)
	case *messages.ReplicateResponse:
		r.handleReplicateResponse(ctx, m)
	case *messages.OffsetsForLeaderEpochRequest:
		r.handleEpochQuery(ctx, m)
	case *messages.ReplicateRequest:
		r.refusePush(ctx, m)
	case *replicationTick:
		r.handleReplicationTick(ctx, m)
	case *isrWritten:
		r.handleISRWritten(ctx, m)
	default:
		r.common(ctx)
	}
}

// follower appends the leader's pushes and refuses client requests
// (fetching from followers is not supported).
func (r *replica) follower(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.ProduceRequest, *messages.FetchRequest, *FileFetchRequest, *messages.ListOffsetsRequest, *messages.OffsetsForLeaderEpochRequest,
		*messages.WriteTxnMarkerRequest, *messages.DescribeProducersRequest, *messages.DeleteRecordsRequest:
		r.refuse(ctx, r.notLeader(m.(epochRequest).GetLeaderEpoch()))
	case *messages.ReplicateRequest:
		r.handlePush(ctx, m)
	case *queryRetry:
		r.handleQueryRetry(ctx, m)
	case *truncated:
		r.handleTruncated(ctx, m)
	case *restarted:
		r.handleRestarted(ctx, m)
	case *pushDurable:
		r.handlePushDurable(ctx, m)
	default:
		r.common(ctx)
	}
}

// common handles what every open-log behaviour handles alike.
func (r *replica) common(ctx actor.Context) {
	if r.deferWhileBusy(ctx.Message()) {
		return
	}
	switch m := ctx.Message().(type) {
	case *messages.PartitionStatusRequest:
		r.handlePartitionStatus(ctx, m)
	case *durable:
		r.handleDurable(ctx, m)
	case *maintenanceTick:
		r.handleMaintenanceTick(ctx)
	case *maintenanceDone:
		r.handleMaintenanceDone(ctx, m)
	case *trimmed:
		r.handleTrimmed(ctx, m)
	case *UpdateState:
		r.handleUpdateState(ctx, m)
	case *UpdateConfig:
		r.handleUpdateConfig(ctx, m)
	case *DeleteLog:
		r.deleteLog(ctx)
	case *LogDirOffline:
		r.takeOffline(ctx, m.Err)
	case *actor.Stopping:
		r.shutdown(ctx)
	case *actor.Restarting:
		r.shutdown(ctx)
	}
}

// handleUpdateState adopts a newer metadata state: a new leader or epoch
// starts the role over (a leader resigns first), an ISR the controller
// changed under a leader is applied to its replication core. States
// older than one already seen (by version) are ignored.
func (r *replica) handleUpdateState(ctx actor.Context, m *UpdateState) {
	if m.State.Version != 0 && m.State.Version < r.stateVersion {
		return
	}
	old := r.state
	r.state = m.State
	r.latest.state = m.State
	r.stateVersion = max(r.stateVersion, m.State.Version)
	wasLeader := old.Leader == r.cfg.NodeID
	isLeader := m.State.Leader == r.cfg.NodeID
	newEpoch := m.State.LeaderEpoch != old.LeaderEpoch || m.State.Leader != old.Leader
	switch {
	case isLeader && (!wasLeader || newEpoch || r.lead == nil):
		r.becomeLeader(ctx)
	case isLeader:
		if !sameMembers(m.State.ISR, r.lead.ISR()) {
			r.isrWrite = 0
			r.applyLeader(ctx, r.lead.OnISRChangeApplied(m.State.ISR))
		}
	case wasLeader || newEpoch:
		r.becomeFollower(ctx)
	}
}

// refuse answers a request with its paired response carrying err; Sends
// (acks=0 produce) get nothing.
func (r *replica) refuse(ctx actor.Context, err error) {
	if ctx.Sender() == nil {
		return
	}
	code, text := messages.CodeFor(err), err.Error()
	switch m := ctx.Message().(type) {
	case *messages.ProduceRequest:
		r.cfg.Metrics.produce(code.String(), 0, 0)
		r.cfg.Metrics.requestDone(requestProduce, code, r.received)
		ctx.Respond(&messages.ProduceResponse{ErrorCode: code, ErrorMessage: text, LeaderEpoch: r.state.LeaderEpoch})
	case *messages.FetchRequest, *FileFetchRequest:
		r.cfg.Metrics.fetch(code.String(), 0)
		r.cfg.Metrics.requestDone(requestFetch, code, r.received)
		ctx.Respond(&messages.FetchResponse{ErrorCode: code, ErrorMessage: text, LeaderEpoch: r.state.LeaderEpoch})
	case *messages.ListOffsetsRequest:
		ctx.Respond(&messages.ListOffsetsResponse{ErrorCode: code, ErrorMessage: text, Offset: -1, Timestamp: -1, LeaderEpoch: r.state.LeaderEpoch})
	case *messages.WriteTxnMarkerRequest:
		ctx.Respond(&messages.WriteTxnMarkerResponse{ErrorCode: code, ErrorMessage: text, Offset: -1, LeaderEpoch: r.state.LeaderEpoch})
	case *messages.DescribeProducersRequest:
		ctx.Respond(&messages.DescribeProducersResponse{ErrorCode: code, ErrorMessage: text, LeaderEpoch: r.state.LeaderEpoch})
	case *messages.DeleteRecordsRequest:
		resp := &messages.DeleteRecordsResponse{ErrorCode: code, ErrorMessage: text, LowWatermark: -1, LeaderEpoch: r.state.LeaderEpoch}
		if r.log != nil {
			resp.LowWatermark = r.log.LogStartOffset()
		}
		ctx.Respond(resp)
	case *messages.PartitionStatusRequest:
		ctx.Respond(&messages.PartitionStatusResponse{ErrorCode: code, ErrorMessage: text, NodeId: r.cfg.NodeID})
	case *messages.OffsetsForLeaderEpochRequest:
		ctx.Respond(&messages.OffsetsForLeaderEpochResponse{ErrorCode: code, ErrorMessage: text, LeaderEpoch: -1, EndOffset: -1})
	case *messages.ReplicateRequest:
		ctx.Respond(&messages.ReplicateResponse{ErrorCode: code, ErrorMessage: text, FollowerId: r.cfg.NodeID,
			LeaderEpoch: r.state.LeaderEpoch, Seq: m.Seq, Leo: -1, Hw: -1})
	}
}

// epochRequest is a client request carrying the leader epoch its sender
// believes current.
type epochRequest interface{ GetLeaderEpoch() int32 }

// notLeader is a follower's refusal of a client request. As in Kafka the
// epoch is checked first: a sender whose metadata is older than the
// follower's is fenced (FENCED_LEADER_EPOCH), one that knows a newer epoch
// than the follower has taken up is told to retry (UNKNOWN_LEADER_EPOCH);
// only a request in the follower's own epoch, or without one, hears
// NOT_LEADER_OR_FOLLOWER.
func (r *replica) notLeader(epoch int32) error {
	if err := r.checkEpoch(epoch); err != nil {
		return err
	}
	return messages.Wrap(messages.ErrorCode_NOT_LEADER_OR_FOLLOWER,
		"node %d does not lead %s/%d (leader %d)", r.cfg.NodeID, r.cfg.Topic, r.cfg.Partition, r.state.Leader)
}

// checkEpoch compares a request's leader epoch with the current one
// (Kafka's KIP-320 fencing): an older one is FENCED_LEADER_EPOCH, a newer
// one UNKNOWN_LEADER_EPOCH; -1 (unknown) always passes.
func (r *replica) checkEpoch(epoch int32) error {
	switch {
	case epoch < 0 || epoch == r.state.LeaderEpoch:
		return nil
	case epoch < r.state.LeaderEpoch:
		return messages.Wrap(messages.ErrorCode_FENCED_LEADER_EPOCH, "request epoch %d, leader epoch %d", epoch, r.state.LeaderEpoch)
	default:
		return messages.Wrap(messages.ErrorCode_UNKNOWN_LEADER_EPOCH, "request epoch %d, leader epoch %d", epoch, r.state.LeaderEpoch)
	}
}
