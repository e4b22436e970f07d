package txn

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/controller"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/txnstate"
)

// CreateTopicFunc creates an internal topic; the controller's
// CreateInternalTopic. It is called from a goroutine and must be safe for
// concurrent use.
type CreateTopicFunc func(context.Context, *messages.CreateTopicRequest) *messages.CreateTopicResponse

// Timeouts of the Host's own work.
const (
	createTopicTimeout = 30 * time.Second
	gatherTimeout      = 10 * time.Second
)

// Host serves the transaction requests that reach a node guardian: it
// answers FindCoordinator for transactional ids from the node's metadata
// (creating __transaction_state on first use), and forwards the other
// requests, sender kept, to the actor of the transactional id, a child of
// the guardian named messages.TxnActorName(id), spawned on first use. An
// id is served only while this node leads its __transaction_state
// partition; otherwise the request is answered with NOT_COORDINATOR. When
// the node becomes leader of a partition (Reconcile), the ids with an open
// or decided transaction there get their actors at once, so their
// timeouts run and their markers are written without waiting for the
// producer.
//
// Every method runs inside the guardian's Receive, with its context; the
// Host is owned by the guardian actor.
type Host struct {
	cfg         Config
	nodeID      int32
	createTopic CreateTopicFunc
	txns        map[string]*actor.PID
	// led holds the leader epoch of every __transaction_state partition
	// this node leads, as last reconciled; scanned ids are activated for
	// it.
	led      map[int32]int32
	creating atomic.Bool
}

// NewHost returns the Host of node nodeID. It panics on an invalid
// cfg.Txn (a programming error).
func NewHost(nodeID int32, createTopic CreateTopicFunc, cfg Config) *Host {
	cfg = cfg.withDefaults()
	if err := cfg.Txn.Validate(); err != nil {
		panic(err)
	}
	return &Host{cfg: cfg, nodeID: nodeID, createTopic: createTopic, txns: make(map[string]*actor.PID), led: make(map[int32]int32)}
}

// Handle serves ctx's message if it is a transaction request and reports
// whether it was one. view is the guardian's current view of the cluster.
func (h *Host) Handle(ctx actor.Context, view controller.ClusterView) bool {
	switch m := ctx.Message().(type) {
	case *messages.FindCoordinatorRequest:
		if m.KeyType != messages.CoordinatorKeyType_TRANSACTION {
			return false
		}
		h.handleFindCoordinator(ctx, view, m.GroupId)
	case *messages.InitProducerIdRequest:
		if m.TransactionalId == "" {
			return false
		}
		h.forward(ctx, view, m.TransactionalId)
	case *messages.AddPartitionsToTxnRequest:
		h.handleAddPartitions(ctx, view, m)
	case *messages.AddOffsetsToTxnRequest:
		h.handleAddOffsets(ctx, view, m)
	case *messages.EndTxnRequest:
		h.forward(ctx, view, m.TransactionalId)
	case *messages.DescribeTransactionsRequest:
		h.handleDescribe(ctx, view, m)
	case *messages.ListTransactionsRequest:
		h.handleList(ctx, view, m)
	case *partitionScanned:
		h.handleScanned(ctx, view, m)
	default:
		return false
	}
	return true
}

// handleFindCoordinator names the leader of the id's partition.
func (h *Host) handleFindCoordinator(ctx actor.Context, view controller.ClusterView, id string) {
	if id == "" {
		respondError(ctx, messages.Wrap(messages.ErrorCode_INVALID_REQUEST, "empty transactional id"))
		return
	}
	t, ok := view.Snapshot.Topics[messages.TransactionStateTopic]
	if !ok || t.Partitions() == 0 {
		h.ensureStateTopic(ctx, view)
		respondError(ctx, messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "%s is being created", messages.TransactionStateTopic))
		return
	}
	p := txnstate.StatePartition(id, int32(t.Partitions()))
	if st, ok := view.Snapshot.State(messages.TransactionStateTopic, p); ok && st.Leader >= 0 {
		for _, mb := range view.Members {
			if mb.NodeID == st.Leader {
				ctx.Respond(&messages.FindCoordinatorResponse{NodeId: mb.NodeID, Address: mb.Address})
				return
			}
		}
	}
	respondError(ctx, messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE,
		"%s/%d has no live leader", messages.TransactionStateTopic, p))
}

// ensureStateTopic creates __transaction_state in a goroutine unless one
// is at it (compacted, replicated like __consumer_offsets, with
// min.insync.replicas 2 when there are two replicas or more).
func (h *Host) ensureStateTopic(ctx actor.Context, view controller.ClusterView) {
	if h.createTopic == nil || !h.creating.CompareAndSwap(false, true) {
		return
	}
	rf := min(h.cfg.StateReplicationFactor, int32(max(len(view.Members), 1)))
	req := &messages.CreateTopicRequest{
		Name:              messages.TransactionStateTopic,
		Partitions:        h.cfg.StatePartitions,
		ReplicationFactor: rf,
		Configs: map[string]string{
			metadata.ConfigCleanupPolicy: metadata.CleanupCompact,
			metadata.ConfigSegmentBytes:  strconv.FormatInt(h.cfg.StateSegmentBytes, 10),
		},
	}
	if rf >= 2 {
		// transaction.state.log.min.isr: a decision is on two replicas
		// before it is answered.
		req.Configs[metadata.ConfigMinInsyncReplicas] = "2"
	}
	logger := h.cfg.Logger
	go func() {
		defer h.creating.Store(false)
		c, cancel := context.WithTimeout(context.Background(), createTopicTimeout)
		defer cancel()
		resp := h.createTopic(c, req)
		switch resp.GetErrorCode() {
		case messages.ErrorCode_NONE:
			logger.Info("created internal topic", "topic", req.Name, "partitions", req.Partitions, "replication_factor", rf)
		case messages.ErrorCode_TOPIC_ALREADY_EXISTS:
		default:
			logger.Warn("create internal topic", "topic", req.Name, "error", resp.GetErrorCode(), "message", resp.GetErrorMessage())
		}
	}()
}

// coordinates returns the __transaction_state partition of id and its
// leader epoch if this node leads it.
func (h *Host) coordinates(view controller.ClusterView, id string) (int32, int32, error) {
	if id == "" {
		return 0, 0, messages.Wrap(messages.ErrorCode_INVALID_REQUEST, "empty transactional id")
	}
	t, ok := view.Snapshot.Topics[messages.TransactionStateTopic]
	if !ok || t.Partitions() == 0 {
		return 0, 0, messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "%s does not exist yet", messages.TransactionStateTopic)
	}
	p := txnstate.StatePartition(id, int32(t.Partitions()))
	st, ok := view.Snapshot.State(messages.TransactionStateTopic, p)
	if !ok || st.Leader != h.nodeID {
		return 0, 0, messages.Wrap(messages.ErrorCode_NOT_COORDINATOR, "node %d does not coordinate transactional id %q", h.nodeID, id)
	}
	return p, st.LeaderEpoch, nil
}

// actorFor returns the actor of id, spawning it if needed, and tells it
// where its id lives now.
func (h *Host) actorFor(ctx actor.Context, id string, partition, epoch int32) (*actor.PID, error) {
	pid, ok := h.txns[id]
	if ok {
		if _, alive := ctx.ActorSystem().ProcessRegistry.GetLocal(pid.Id); !alive {
			delete(h.txns, id)
			ok = false
		}
	}
	if !ok {
		var err error
		pid, err = ctx.SpawnNamed(Props(id, h.cfg), messages.TxnActorName(id))
		if err != nil {
			return nil, messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "start coordinator of transactional id %q: %v", id, err)
		}
		h.txns[id] = pid
	}
	ctx.Send(pid, &Activate{Partition: partition, LeaderEpoch: epoch})
	return pid, nil
}

// forward hands a request to its id's actor, sender kept.
func (h *Host) forward(ctx actor.Context, view controller.ClusterView, id string) {
	p, epoch, err := h.coordinates(view, id)
	if err != nil {
		respondError(ctx, err)
		return
	}
	pid, err := h.actorFor(ctx, id, p, epoch)
	if err != nil {
		respondError(ctx, err)
		return
	}
	ctx.Forward(pid)
}

// handleAddPartitions refuses partitions the metadata does not know, as
// Kafka does (UNKNOWN_TOPIC_OR_PARTITION for them, OPERATION_NOT_ATTEMPTED
// for the others), and forwards the rest.
func (h *Host) handleAddPartitions(ctx actor.Context, view controller.ClusterView, m *messages.AddPartitionsToTxnRequest) {
	unknown := false
	for _, t := range m.Topics {
		topic, ok := view.Snapshot.Topics[t.Name]
		for _, p := range t.Partitions {
			if !ok || p < 0 || int(p) >= topic.Partitions() {
				unknown = true
			}
		}
	}
	if !unknown {
		h.forward(ctx, view, m.TransactionalId)
		return
	}
	resp := &messages.AddPartitionsToTxnResponse{ErrorCode: messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, ErrorMessage: "unknown topic or partition"}
	for _, t := range m.Topics {
		topic, ok := view.Snapshot.Topics[t.Name]
		rt := &messages.AddPartitionsToTxnTopicResult{Name: t.Name}
		for _, p := range t.Partitions {
			code := messages.ErrorCode_OPERATION_NOT_ATTEMPTED
			if !ok || p < 0 || int(p) >= topic.Partitions() {
				code = messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION
			}
			rt.Partitions = append(rt.Partitions, &messages.AddPartitionsToTxnPartitionResult{Partition: p, ErrorCode: code})
		}
		resp.Topics = append(resp.Topics, rt)
	}
	ctx.Respond(resp)
}

// handleAddOffsets adds the group's __consumer_offsets partition to the
// transaction.
func (h *Host) handleAddOffsets(ctx actor.Context, view controller.ClusterView, m *messages.AddOffsetsToTxnRequest) {
	if m.GroupId == "" {
		respondError(ctx, messages.Wrap(messages.ErrorCode_INVALID_GROUP_ID, "empty group id"))
		return
	}
	t, ok := view.Snapshot.Topics[messages.ConsumerOffsetsTopic]
	if !ok || t.Partitions() == 0 {
		respondError(ctx, messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "%s does not exist yet", messages.ConsumerOffsetsTopic))
		return
	}
	p, epoch, err := h.coordinates(view, m.TransactionalId)
	if err != nil {
		respondError(ctx, err)
		return
	}
	pid, err := h.actorFor(ctx, m.TransactionalId, p, epoch)
	if err != nil {
		respondError(ctx, err)
		return
	}
	ctx.RequestWithCustomSender(pid, &addOffsets{req: m, partition: group.OffsetsPartition(m.GroupId, int32(t.Partitions()))}, ctx.Sender())
}
