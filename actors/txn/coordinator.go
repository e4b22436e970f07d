package txn

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/txnstate"
)

// Activate tells a transaction actor which __transaction_state partition
// holds its id and the leader epoch in which this node leads it. The Host
// sends it ahead of every request it forwards; a new partition or epoch
// makes the actor drop its state (answering held requests with
// NOT_COORDINATOR) and load again from the log. It never leaves the
// process.
type Activate struct {
	Partition   int32
	LeaderEpoch int32
}

// addOffsets is an AddOffsetsToTxn with the group's __consumer_offsets
// partition, which the Host computed from its view.
type addOffsets struct {
	req       *messages.AddOffsetsToTxnRequest
	partition int32
}

// Internal messages, sent by timers. Each carries the instance of the
// actor that armed it: an actor stopped and spawned again under the same
// name must not act on its predecessor's timers.
type (
	// tick: the deadline of timer seq has come.
	tick struct{ instance, seq uint64 }
	// idleCheck: time to see whether the actor can stop.
	idleCheck struct{ instance uint64 }
	// retryLoad: load again after a failed step of incarnation inc.
	retryLoad struct{ instance, inc uint64 }
	// awaitBounds: ask again whether the high watermark reached target.
	awaitBounds struct {
		instance, inc uint64
		target        int64
	}
	// retryMarker: write marker p of marker round round again.
	retryMarker struct {
		instance, round uint64
		p               txnstate.Partition
	}
)

// instances numbers coordinator actors of the process.
var instances atomic.Uint64

// Timeouts and backoff of the actor's own requests.
const (
	loadStepTimeout  = 10 * time.Second
	loadRetryDelay   = 200 * time.Millisecond
	producerIDTimout = 10 * time.Second
	// idleTimeout: an actor whose id has no state stops after this long
	// without requests; the Host spawns it again on demand.
	idleTimeout = time.Minute
)

// requestKind says how to answer a held request.
type requestKind int8

const (
	kindInit requestKind = iota + 1
	kindAddPartitions
	kindAddOffsets
	kindEnd
)

// held is a request waiting for its answer.
type held struct {
	sender *actor.PID
	kind   requestKind
	// init is the request of an InitProducerId waiting for a producer id.
	init *txnstate.InitRequest
	// topics echoes an AddPartitionsToTxn's partitions.
	topics []*messages.AddPartitionsToTxnTopic
}

// coordinator is the actor of one transactional id: a shell over
// txnstate.Txn that feeds it requests and carries out its effects. Every
// field is owned by the actor and only touched inside Receive (timer
// callbacks only send messages).
type coordinator struct {
	// instance tells this actor's timers from those of an earlier actor
	// of the same id.
	instance uint64
	id       string
	cfg      Config
	logger   *slog.Logger

	// Where the id lives, from the last Activate; partition is -1 until
	// the first one.
	partition int32
	epoch     int32
	replica   *actor.PID

	// incarnation counts (re)loads; continuations of an older incarnation
	// find it changed and drop their results.
	incarnation uint64
	loading     bool
	loadStarted time.Time
	// Invariant: loaded implies txn != nil.
	loaded bool
	txn    *txnstate.Txn

	nextRequest txnstate.RequestID
	// held requests by id. Bounded: the state machine answers every
	// request at once except the one whose write is outstanding and an
	// InitProducerId waiting for a producer id, and each of those refuses
	// the next with CONCURRENT_TRANSACTIONS.
	held map[txnstate.RequestID]held
	// allocating is set while a producer id is being fetched.
	allocating bool

	// markerRound identifies the markers being written; retries of an
	// older round are dropped.
	markerRound uint64
	markers     *txnstate.Markers

	lastRequest time.Time
	timer       *time.Timer
	timerSeq    uint64
	timerAt     time.Time
	idleTimer   *time.Timer
}

// Props returns the props of the actor of transactionalID. It waits for
// an Activate before it serves requests.
func Props(transactionalID string, cfg Config) *actor.Props {
	cfg = cfg.withDefaults()
	return actor.PropsFromProducer(func() actor.Actor {
		return &coordinator{
			instance:  instances.Add(1),
			id:        transactionalID,
			cfg:       cfg,
			logger:    cfg.Logger.With("transactional_id", transactionalID),
			partition: -1,
			held:      make(map[txnstate.RequestID]held),
		}
	})
}

// Receive is a type switch over the actor's messages; requests are served
// once the id is loaded.
func (c *coordinator) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		c.lastRequest = c.cfg.Now()
		c.scheduleIdle(ctx)
	case *actor.Stopping, *actor.Restarting:
		c.unload(ctx)
		if c.idleTimer != nil {
			c.idleTimer.Stop()
		}
	case *Activate:
		c.handleActivate(ctx, m)
	case *tick:
		if m.instance == c.instance {
			c.handleTick(ctx, m)
		}
	case *idleCheck:
		if m.instance == c.instance {
			c.handleIdle(ctx)
		}
	case *retryLoad:
		if m.instance == c.instance && m.inc == c.incarnation && c.loading {
			c.startLoad(ctx)
		}
	case *awaitBounds:
		if m.instance == c.instance && m.inc == c.incarnation && c.loading {
			c.loadBounds(ctx, m.inc, m.target)
		}
	case *retryMarker:
		if m.instance == c.instance && m.round == c.markerRound && c.loaded {
			c.writeMarker(ctx, m.round, m.p)
		}
	default:
		if !c.ready(ctx) {
			return
		}
		c.serve(ctx)
	}
}

// serve dispatches a request to its handler.
func (c *coordinator) serve(ctx actor.Context) {
	c.lastRequest = c.cfg.Now()
	switch m := ctx.Message().(type) {
	case *messages.InitProducerIdRequest:
		c.handleInit(ctx, m)
	case *messages.AddPartitionsToTxnRequest:
		c.handleAddPartitions(ctx, m)
	case *addOffsets:
		c.handleAddOffsets(ctx, m)
	case *messages.EndTxnRequest:
		c.handleEnd(ctx, m)
	case *messages.DescribeTransactionsRequest:
		ctx.Respond(&messages.DescribeTransactionsResponse{TransactionStates: []*messages.DescribedTransaction{c.describe()}})
	}
}

// ready reports whether requests can be served; if not, the request is
// answered with COORDINATOR_LOAD_IN_PROGRESS (loading) or NOT_COORDINATOR.
func (c *coordinator) ready(ctx actor.Context) bool {
	if c.loaded {
		return true
	}
	err := messages.Wrap(messages.ErrorCode_NOT_COORDINATOR, "transactional id %q is not coordinated here", c.id)
	if c.loading {
		err = messages.Wrap(messages.ErrorCode_COORDINATOR_LOAD_IN_PROGRESS, "transactional id %q is loading", c.id)
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
	c.replica = actor.NewPID(ctx.Self().Address, messages.ReplicaActorID(messages.TransactionStateTopic, m.Partition))
	c.startLoad(ctx)
}

// unload drops the state; held requests learn that this node is not the
// coordinator any more.
func (c *coordinator) unload(ctx actor.Context) {
	c.incarnation++
	c.markerRound++
	c.markers = nil
	c.loading = false
	c.allocating = false
	if c.loaded {
		c.apply(ctx, c.txn.Unload())
	}
	c.loaded = false
	c.txn = nil
	c.stopTimer()
	err := messages.Wrap(messages.ErrorCode_NOT_COORDINATOR, "transactional id %q moved", c.id)
	for id, h := range c.held {
		ctx.Send(h.sender, errorResponse(h.kind, h.topics, err))
		delete(c.held, id)
	}
}

// hold registers a request whose answer may come later.
func (c *coordinator) hold(ctx actor.Context, h held) txnstate.RequestID {
	c.nextRequest++
	h.sender = ctx.Sender()
	if h.sender != nil {
		c.held[c.nextRequest] = h
	}
	return c.nextRequest
}

func (c *coordinator) handleInit(ctx actor.Context, m *messages.InitProducerIdRequest) {
	req := txnstate.InitRequest{
		Timeout:       time.Duration(m.TransactionTimeoutMs) * time.Millisecond,
		ProducerID:    m.ProducerId,
		ProducerEpoch: int16(m.ProducerEpoch),
	}
	if m.ProducerEpoch < -1 || m.ProducerEpoch > 1<<15-1 || (m.ProducerId == -1) != (m.ProducerEpoch == -1) || m.ProducerId < -1 {
		respondError(ctx, messages.Wrap(messages.ErrorCode_INVALID_REQUEST, "invalid producer id %d, epoch %d", m.ProducerId, m.ProducerEpoch))
		return
	}
	if c.allocating {
		respondError(ctx, messages.Wrap(messages.ErrorCode_CONCURRENT_TRANSACTIONS, "transactional id %q is being initialized", c.id))
		return
	}
	req.RequestID = c.hold(ctx, held{kind: kindInit, init: &req})
	c.apply(ctx, c.txn.InitProducerID(c.cfg.Now(), req, txnstate.NoProducerID))
}

func (c *coordinator) handleAddPartitions(ctx actor.Context, m *messages.AddPartitionsToTxnRequest) {
	var ps []txnstate.Partition
	for _, t := range m.Topics {
		for _, p := range t.Partitions {
			ps = append(ps, txnstate.Partition{Topic: t.Name, Partition: p})
		}
	}
	id := c.hold(ctx, held{kind: kindAddPartitions, topics: m.Topics})
	c.apply(ctx, c.txn.AddPartitions(c.cfg.Now(), txnstate.AddPartitionsRequest{
		RequestID: id, ProducerID: m.ProducerId, ProducerEpoch: int16(m.ProducerEpoch), Partitions: ps,
	}))
}

func (c *coordinator) handleAddOffsets(ctx actor.Context, m *addOffsets) {
	id := c.hold(ctx, held{kind: kindAddOffsets})
	c.apply(ctx, c.txn.AddPartitions(c.cfg.Now(), txnstate.AddPartitionsRequest{
		RequestID: id, ProducerID: m.req.ProducerId, ProducerEpoch: int16(m.req.ProducerEpoch),
		Partitions: []txnstate.Partition{{Topic: messages.ConsumerOffsetsTopic, Partition: m.partition}},
	}))
}

func (c *coordinator) handleEnd(ctx actor.Context, m *messages.EndTxnRequest) {
	id := c.hold(ctx, held{kind: kindEnd})
	c.apply(ctx, c.txn.EndTxn(c.cfg.Now(), txnstate.EndRequest{
		RequestID: id, ProducerID: m.ProducerId, ProducerEpoch: int16(m.ProducerEpoch), Commit: m.Committed,
	}))
}

// apply carries out the state machine's effects: the write, the answers,
// the markers, a producer id to fetch, the timer.
func (c *coordinator) apply(ctx actor.Context, fx txnstate.Effects) {
	if fx.Persist != nil {
		c.persist(ctx, fx.Persist)
	}
	for _, r := range fx.Replies {
		h, ok := c.held[r.RequestID]
		if !ok {
			continue
		}
		delete(c.held, r.RequestID)
		ctx.Send(h.sender, response(h, r))
	}
	if fx.Markers != nil {
		c.startMarkers(ctx, fx.Markers)
	}
	if fx.NeedProducerID {
		c.allocate(ctx)
	}
	c.schedule(ctx, fx.Deadline)
}

// allocate asks the node guardian for a fresh producer id (from its block
// of ids claimed in the metadata store) and continues the InitProducerId
// that needed it.
func (c *coordinator) allocate(ctx actor.Context) {
	var id txnstate.RequestID
	var req *txnstate.InitRequest
	for rid, h := range c.held {
		if h.kind == kindInit && h.init != nil && (req == nil || rid > id) {
			id, req = rid, h.init
		}
	}
	if req == nil {
		return
	}
	c.allocating = true
	inc := c.incarnation
	f := ctx.RequestFuture(ctx.Parent(), &messages.InitProducerIdRequest{ProducerId: -1, ProducerEpoch: -1}, producerIDTimout)
	ctx.ReenterAfter(f, func(res any, err error) {
		if inc != c.incarnation || !c.loaded {
			return
		}
		c.allocating = false
		resp, ok := res.(*messages.InitProducerIdResponse)
		switch {
		case err != nil:
			err = messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "allocate a producer id: %v", err)
		case !ok:
			err = messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "allocate a producer id: unexpected reply %T", res)
		case resp.ErrorCode != messages.ErrorCode_NONE:
			err = messages.ErrorForCode(resp.ErrorCode, resp.ErrorMessage)
		}
		if err != nil {
			c.logger.Warn("producer id allocation failed", "error", err)
			if h, ok := c.held[id]; ok {
				delete(c.held, id)
				ctx.Send(h.sender, errorResponse(kindInit, nil, err))
			}
			return
		}
		fx := c.txn.InitProducerID(c.cfg.Now(), *req, resp.ProducerId)
		if fx.NeedProducerID {
			// Cannot happen: the id just given satisfies the request.
			fx.NeedProducerID = false
		}
		c.apply(ctx, fx)
	})
}

// schedule arms the single timer for deadline, replacing the previous one;
// zero disarms it.
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
	system, self, msg := ctx.ActorSystem(), ctx.Self(), &tick{instance: c.instance, seq: c.timerSeq}
	c.timer = time.AfterFunc(max(deadline.Sub(c.cfg.Now()), 0), func() { system.Root.Send(self, msg) })
}

func (c *coordinator) stopTimer() {
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	c.timerAt = time.Time{}
}

func (c *coordinator) handleTick(ctx actor.Context, m *tick) {
	if m.seq != c.timerSeq || !c.loaded {
		return
	}
	c.timer, c.timerAt = nil, time.Time{}
	c.apply(ctx, c.txn.Tick(c.cfg.Now()))
}

func (c *coordinator) scheduleIdle(ctx actor.Context) {
	system, self, msg := ctx.ActorSystem(), ctx.Self(), &idleCheck{instance: c.instance}
	c.idleTimer = time.AfterFunc(idleTimeout, func() { system.Root.Send(self, msg) })
}

// handleIdle stops an actor whose id has no state and no requests: it is
// spawned again on demand. Actors with state stay, for their timers.
func (c *coordinator) handleIdle(ctx actor.Context) {
	idle := c.cfg.Now().Sub(c.lastRequest) >= idleTimeout
	if idle && len(c.held) == 0 && (!c.loaded || c.txn.Metadata() == nil) {
		if _, pending := c.txnPending(); !pending {
			ctx.Stop(ctx.Self())
			return
		}
	}
	c.scheduleIdle(ctx)
}

func (c *coordinator) txnPending() (*txnstate.Metadata, bool) {
	if c.txn == nil {
		return nil, false
	}
	return c.txn.Pending()
}
