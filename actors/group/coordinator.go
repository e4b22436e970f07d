package group

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	core "github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// Activate tells a group actor which __consumer_offsets partition holds
// its group and the leader epoch in which this node leads it. The Host
// sends it ahead of every request it forwards, so the actor always knows
// whether its state is current: a new partition or epoch makes it drop its
// state (answering held requests with NOT_COORDINATOR) and load the group
// again from the log. It never leaves the process.
type Activate struct {
	Partition   int32
	LeaderEpoch int32
}

// Internal messages.
type (
	// tick: the group's deadline (seq identifies the timer) has come.
	tick struct{ seq uint64 }
	// retentionTick: time to expire old offsets.
	retentionTick struct{}
	// retryLoad: load again after a failed step of load incarnation inc.
	retryLoad struct{ inc uint64 }
	// awaitBounds: ask again whether the high watermark reached target.
	awaitBounds struct {
		inc    uint64
		target int64
	}
)

// Timeouts and backoff of the actor's requests to the local replica.
const (
	loadStepTimeout = 10 * time.Second
	loadRetryDelay  = 200 * time.Millisecond
	// idleTimeout: an actor whose group does not exist (a describe of an
	// unknown id, a deleted group) stops after this long without
	// requests, checked with the offset expiry; the Host spawns it again
	// on demand.
	idleTimeout = time.Minute
)

// coordinator is the actor of one consumer group: a shell over
// core.Group that feeds it requests and carries out its effects. Every
// field is owned by the actor and only touched inside Receive (timer
// callbacks only send messages).
type coordinator struct {
	groupID string
	cfg     Config
	logger  *slog.Logger

	// Where the group lives, from the last Activate; partition is -1 until
	// the first one.
	partition int32
	epoch     int32
	replica   *actor.PID

	// incarnation counts (re)loads; continuations of an older incarnation
	// find it changed and drop their results.
	incarnation uint64
	loading     bool
	loadStarted time.Time
	// Invariant: loaded implies g != nil and offsets != nil.
	loaded  bool
	g       *core.Group
	offsets map[core.Partition]core.OffsetValue
	// offsetsVersion counts changes of offsets; published is the view
	// last given to Config.Stats, at publishedVersion (stats.go).
	offsetsVersion   uint64
	published        *groupStats
	publishedVersion uint64
	// pending holds transactional offset commits waiting for their
	// producer's marker; seqs the next sequence of each producer's
	// batches in the partition, for the transactional batches this actor
	// writes (loadSeqs collects them during a load). Invariant: loaded
	// implies pending != nil and seqs != nil.
	pending  *core.PendingOffsets
	seqs     map[int64]producerSeq
	loadSeqs map[int64]producerSeq

	// Held JoinGroup and SyncGroup requests: whom to answer.
	nextRequest core.RequestID
	joins       map[core.RequestID]*actor.PID
	syncs       map[core.RequestID]*actor.PID

	// lastRequest is when the last group request was served; an actor of
	// a group that does not exist stops after idleTimeout without one.
	lastRequest time.Time

	timer          *time.Timer
	timerSeq       uint64
	timerAt        time.Time
	retentionTimer *time.Timer
}

// Props returns the props of the coordinator actor of groupID. It waits
// for an Activate before it serves requests.
func Props(groupID string, cfg Config) *actor.Props {
	cfg = cfg.withDefaults()
	return actor.PropsFromProducer(func() actor.Actor {
		return &coordinator{
			groupID:   groupID,
			cfg:       cfg,
			logger:    cfg.Logger.With("group", groupID),
			partition: -1,
			joins:     make(map[core.RequestID]*actor.PID),
			syncs:     make(map[core.RequestID]*actor.PID),
		}
	})
}

// Receive serves the message, then publishes what it changed to
// Config.Stats.
func (c *coordinator) Receive(ctx actor.Context) {
	c.receive(ctx)
	switch ctx.Message().(type) {
	case *actor.Stopping, *actor.Restarting:
		c.cfg.Stats.drop(c.groupID)
		c.published = nil
	default:
		c.publishStats()
	}
}

// receive is a type switch over the actor's messages; group requests are
// served once the group is loaded.
func (c *coordinator) receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.lastRequest = c.cfg.Now()
		c.scheduleRetention(ctx)
	case *actor.Stopping, *actor.Restarting:
		c.shutdown(ctx)
	case *Activate:
		c.handleActivate(ctx, m)
	case *tick:
		c.handleTick(ctx, m)
	case *retentionTick:
		c.handleRetention(ctx)
	case *retryLoad:
		if m.inc == c.incarnation && c.loading {
			c.startLoad(ctx)
		}
	case *awaitBounds:
		if m.inc == c.incarnation && c.loading {
			c.loadBounds(ctx, m.inc, m.target)
		}
	default:
		if !c.ready(ctx) {
			return
		}
		c.serve(ctx)
	}
}

// serve dispatches a group request to its handler.
func (c *coordinator) serve(ctx actor.Context) {
	c.lastRequest = c.cfg.Now()
	switch m := ctx.Message().(type) {
	case *messages.JoinGroupRequest:
		c.handleJoin(ctx, m)
	case *messages.SyncGroupRequest:
		c.handleSync(ctx, m)
	case *messages.HeartbeatRequest:
		c.handleHeartbeat(ctx, m)
	case *messages.LeaveGroupRequest:
		c.handleLeave(ctx, m)
	case *messages.OffsetCommitRequest:
		c.handleOffsetCommit(ctx, m)
	case *messages.OffsetFetchRequest:
		c.handleOffsetFetch(ctx, m)
	case *messages.TxnOffsetCommitRequest:
		c.handleTxnOffsetCommit(ctx, m)
	case *txnCompleted:
		c.handleTxnCompleted(ctx, m)
	case *messages.DescribeGroupsRequest:
		c.handleDescribe(ctx)
	case *messages.DeleteGroupsRequest:
		c.handleDelete(ctx)
	case *messages.OffsetDeleteRequest:
		c.handleOffsetDelete(ctx, m)
	}
}

// ready reports whether requests can be served; if not, the request is
// answered with COORDINATOR_LOAD_IN_PROGRESS (loading) or NOT_COORDINATOR
// (never activated, or unloaded after losing the partition).
func (c *coordinator) ready(ctx actor.Context) bool {
	if c.loaded {
		return true
	}
	err := messages.Wrap(messages.ErrorCode_NOT_COORDINATOR, "group %q is not coordinated here", c.groupID)
	if c.loading {
		err = messages.Wrap(messages.ErrorCode_COORDINATOR_LOAD_IN_PROGRESS, "group %q is loading", c.groupID)
	}
	respondError(ctx, err)
	return false
}

func (c *coordinator) handleActivate(ctx actor.Context, m *Activate) {
	if m.Partition == c.partition && m.LeaderEpoch == c.epoch && (c.loaded || c.loading) {
		return
	}
	c.unload(ctx)
	c.partition, c.epoch = m.Partition, m.LeaderEpoch
	c.replica = actor.NewPID(ctx.Self().Address, messages.ReplicaActorID(messages.ConsumerOffsetsTopic, m.Partition))
	c.startLoad(ctx)
}

// unload drops the group's state; held requests learn that this node is
// not the coordinator any more.
func (c *coordinator) unload(ctx actor.Context) {
	c.incarnation++
	c.loading = false
	if c.loaded {
		c.apply(ctx, c.g.Unload(c.cfg.Now()))
	}
	c.loaded = false
	c.g, c.offsets, c.pending, c.seqs = nil, nil, nil, nil
	c.stopTimer()
	// Anything still held belongs to a request the group no longer knows.
	notCoordinator := messages.Wrap(messages.ErrorCode_NOT_COORDINATOR, "group %q moved", c.groupID)
	for id, pid := range c.joins {
		ctx.Send(pid, joinError(notCoordinator))
		delete(c.joins, id)
	}
	for id, pid := range c.syncs {
		ctx.Send(pid, &messages.SyncGroupResponse{ErrorCode: messages.CodeFor(notCoordinator), ErrorMessage: notCoordinator.Error()})
		delete(c.syncs, id)
	}
}

// failedWrite reacts to an append that showed this node no longer leads
// the group's partition.
func (c *coordinator) failedWrite(ctx actor.Context, err error) {
	if messages.CodeFor(err) == messages.ErrorCode_NOT_COORDINATOR && c.loaded {
		c.logger.Info("group unloaded: its partition is led elsewhere", "partition", c.partition, "error", err)
		c.unload(ctx)
	}
}

func (c *coordinator) shutdown(ctx actor.Context) {
	c.unload(ctx)
	if c.retentionTimer != nil {
		c.retentionTimer.Stop()
		c.retentionTimer = nil
	}
}

// apply carries out a state machine's effects: the metadata write, the
// held responses, the timer.
func (c *coordinator) apply(ctx actor.Context, fx core.Effects) {
	if fx.Persist != nil {
		c.persistGroup(ctx, fx.Persist)
	}
	for _, r := range fx.Joins {
		if pid, ok := c.joins[r.RequestID]; ok {
			delete(c.joins, r.RequestID)
			ctx.Send(pid, joinResponse(r))
		}
	}
	for _, r := range fx.Syncs {
		if pid, ok := c.syncs[r.RequestID]; ok {
			delete(c.syncs, r.RequestID)
			ctx.Send(pid, syncResponse(r))
		}
	}
	c.schedule(ctx, fx.Deadline)
}

// hold registers the sender of a request whose answer comes later.
func (c *coordinator) hold(ctx actor.Context, held map[core.RequestID]*actor.PID) core.RequestID {
	c.nextRequest++
	if s := ctx.Sender(); s != nil {
		held[c.nextRequest] = s
	}
	return c.nextRequest
}

// schedule arms the group's single timer for deadline, replacing the
// previous one; zero disarms it.
func (c *coordinator) schedule(ctx actor.Context, deadline time.Time) {
	if deadline.Equal(c.timerAt) && (c.timer != nil || deadline.IsZero()) {
		return
	}
	c.stopTimer()
	if deadline.IsZero() {
		return
	}
	c.timerSeq++
	c.timerAt = deadline
	system, self, seq := ctx.ActorSystem(), ctx.Self(), c.timerSeq
	c.timer = time.AfterFunc(max(deadline.Sub(c.cfg.Now()), 0), func() {
		system.Root.Send(self, &tick{seq: seq})
	})
}

func (c *coordinator) stopTimer() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.timerAt = time.Time{}
}

// current reports whether the group is loaded in incarnation inc.
func (c *coordinator) current(inc uint64) bool { return c.loaded && c.incarnation == inc }

func (c *coordinator) handleTick(ctx actor.Context, m *tick) {
	if m.seq != c.timerSeq || !c.loaded {
		return
	}
	c.timer, c.timerAt = nil, time.Time{}
	c.apply(ctx, c.g.Tick(c.cfg.Now()))
}

// persistGroup appends the group's metadata record (or its tombstone) and
// reports the outcome to the state machine.
func (c *coordinator) persistGroup(ctx actor.Context, p *core.Persist) {
	inc := c.incarnation
	c.write(ctx, []logRecord{groupRecord(c.groupID, p.Metadata)}, func(err error) {
		if !c.current(inc) {
			return
		}
		if err != nil {
			c.logger.Warn("group metadata write failed", "generation", p.Generation, "error", err)
		}
		c.apply(ctx, c.g.PersistDone(c.cfg.Now(), p.Generation, err))
		if err != nil {
			c.failedWrite(ctx, err)
		}
	})
}

// write appends records to the group's partition with acks=all and calls
// done on the actor once the replica answered. When the group was unloaded
// or reloaded meanwhile, done gets NOT_COORDINATOR and must leave the
// (new) state alone: callers check current(inc) with the incarnation they
// started in.
func (c *coordinator) write(ctx actor.Context, records []logRecord, done func(error)) {
	c.writeWith(ctx, batch.DefaultEncodeOptions(), records, done)
}

// writeWith is write with the batch's producer fields set by opts (a
// transactional offset commit).
func (c *coordinator) writeWith(ctx actor.Context, opts batch.EncodeOptions, records []logRecord, done func(error)) {
	buf, err := encodeRecords(c.cfg.Now().UnixMilli(), opts, records)
	if err != nil {
		done(messages.Wrap(messages.ErrorCode_UNKNOWN_SERVER_ERROR, "encode records: %v", err))
		return
	}
	req := &messages.ProduceRequest{
		Topic:       messages.ConsumerOffsetsTopic,
		Partition:   c.partition,
		Acks:        -1,
		TimeoutMs:   int32(c.cfg.WriteTimeout.Milliseconds()),
		Records:     buf,
		LeaderEpoch: c.epoch,
	}
	inc := c.incarnation
	f := ctx.RequestFuture(c.replica, req, c.cfg.WriteTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		if !c.current(inc) {
			done(messages.Wrap(messages.ErrorCode_NOT_COORDINATOR, "group %q moved during the write", c.groupID))
			return
		}
		done(produceResult(res, err))
		c.publishStats() // continuations do not pass through Receive
	})
}
