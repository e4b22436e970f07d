package partition

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/commitlog"
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
	acks     ackQueue[pendingProduce]
	parked   fetchWaitList[parkedRequest]
	timers   map[uint64]*time.Timer // fetch expiry timers by parked id

	maintenanceTimer *time.Timer
	maintenanceDone  chan struct{} // non-nil while a maintenance run is in flight
	deleted          bool
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
		cfg:    l.cfg,
		state:  l.state,
		latest: l,
		logger: logger.With("topic", l.cfg.Topic, "partition", l.cfg.Partition),
		timers: make(map[uint64]*time.Timer),
	}
	r.behavior.Become(r.initializing)
	return r
}

// Receive dispatches to the current behaviour.
func (r *replica) Receive(ctx actor.Context) { r.behavior.Receive(ctx) }

// initializing opens the log on Started, then takes the role the metadata
// state gives this node.
func (r *replica) initializing(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
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
// be opened. A new UpdateConfig retries the open.
func (r *replica) failed(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *UpdateConfig:
		r.cfg.TopicConfig = m.TopicConfig
		r.latest.cfg.TopicConfig = m.TopicConfig
		if err := r.openLog(); err != nil {
			r.logger.Error("open partition log", "dir", r.cfg.Dir, "error", err)
			return
		}
		r.scheduleMaintenance(ctx)
		r.takeRole(ctx)
	case *UpdateState:
		r.state = m.State
		r.latest.state = m.State
	case *DeleteLog:
		r.deleteLog(ctx)
	default:
		r.refuse(ctx, messages.Wrap(messages.ErrorCode_KAFKA_STORAGE_ERROR, "partition %s/%d: log unavailable", r.cfg.Topic, r.cfg.Partition))
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

func (r *replica) becomeLeader(ctx actor.Context) {
	if r.state.LeaderEpoch > r.log.LatestEpoch() {
		if err := r.log.AssignEpoch(r.state.LeaderEpoch, r.log.LogEndOffset()); err != nil {
			r.logger.Error("assign leader epoch", "epoch", r.state.LeaderEpoch, "error", err)
		}
	}
	// Alone in the ISR, the leader's log end is committed: what the log
	// holds after open survived the previous run.
	r.commitThrough(ctx, r.log.LogEndOffset())
	r.behavior.Become(r.leader)
}

func (r *replica) becomeFollower(ctx actor.Context) {
	for _, p := range r.parked.drain() {
		r.stopTimer(p.id)
		r.answerFetchError(ctx, p, messages.ErrNotLeaderOrFollower)
	}
	r.behavior.Become(r.follower)
}

// leader serves produce, fetch and offset requests.
func (r *replica) leader(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.ProduceRequest:
		r.handleProduce(ctx, m)
	case *messages.FetchRequest:
		r.handleFetch(ctx, m)
	case *messages.ListOffsetsRequest:
		r.handleListOffsets(ctx, m)
	case *fetchExpired:
		r.handleFetchExpired(ctx, m)
	default:
		r.common(ctx)
	}
}

// follower refuses client requests; replication from the leader arrives
// with clustering.
func (r *replica) follower(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *messages.ProduceRequest, *messages.FetchRequest, *messages.ListOffsetsRequest:
		r.refuse(ctx, messages.Wrap(messages.ErrorCode_NOT_LEADER_OR_FOLLOWER,
			"node %d does not lead %s/%d (leader %d)", r.cfg.NodeID, r.cfg.Topic, r.cfg.Partition, r.state.Leader))
	default:
		r.common(ctx)
	}
}

// common handles what every open-log behaviour handles alike.
func (r *replica) common(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.PartitionStatusRequest:
		r.handlePartitionStatus(ctx, m)
	case *durable:
		r.handleDurable(ctx, m)
	case *maintenanceTick:
		r.handleMaintenanceTick(ctx)
	case *maintenanceDone:
		r.handleMaintenanceDone(ctx, m)
	case *UpdateState:
		r.handleUpdateState(ctx, m)
	case *UpdateConfig:
		r.handleUpdateConfig(ctx, m)
	case *DeleteLog:
		r.deleteLog(ctx)
	case *actor.Stopping:
		r.shutdown(ctx)
	case *actor.Restarting:
		r.shutdown(ctx)
	}
}

func (r *replica) handleUpdateState(ctx actor.Context, m *UpdateState) {
	old := r.state
	r.state = m.State
	r.latest.state = m.State
	wasLeader := old.Leader == r.cfg.NodeID
	isLeader := m.State.Leader == r.cfg.NodeID
	switch {
	case isLeader && (!wasLeader || m.State.LeaderEpoch != old.LeaderEpoch):
		r.becomeLeader(ctx)
	case !isLeader && wasLeader:
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
	switch ctx.Message().(type) {
	case *messages.ProduceRequest:
		r.cfg.Metrics.produce(code.String(), 0, 0)
		ctx.Respond(&messages.ProduceResponse{ErrorCode: code, ErrorMessage: text, LeaderEpoch: r.state.LeaderEpoch})
	case *messages.FetchRequest:
		r.cfg.Metrics.fetch(code.String(), 0)
		ctx.Respond(&messages.FetchResponse{ErrorCode: code, ErrorMessage: text, LeaderEpoch: r.state.LeaderEpoch})
	case *messages.ListOffsetsRequest:
		ctx.Respond(&messages.ListOffsetsResponse{ErrorCode: code, ErrorMessage: text, Offset: -1, Timestamp: -1, LeaderEpoch: r.state.LeaderEpoch})
	case *messages.PartitionStatusRequest:
		ctx.Respond(&messages.PartitionStatusResponse{ErrorCode: code, ErrorMessage: text, NodeId: r.cfg.NodeID})
	}
}

// checkEpoch compares a request's leader epoch with the current one; -1
// (unknown) always passes.
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
