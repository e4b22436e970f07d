package group

import (
	"context"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/controller"
	"github.com/sluice-mq/sluice/cluster/metadata"
	core "github.com/sluice-mq/sluice/group"
	"github.com/sluice-mq/sluice/messages"
)

// CreateTopicFunc creates an internal topic; the controller's
// CreateInternalTopic. It is called from a goroutine and must be safe for
// concurrent use.
type CreateTopicFunc func(context.Context, *messages.CreateTopicRequest) *messages.CreateTopicResponse

// Timeouts of the Host's own work.
const (
	// createTopicTimeout bounds the creation of __consumer_offsets.
	createTopicTimeout = 30 * time.Second
	// gatherTimeout bounds one group actor's answer to a DescribeGroups or
	// DeleteGroups the Host split by group.
	gatherTimeout = 10 * time.Second
)

// Host serves the group requests that reach a node guardian: it answers
// FindCoordinator from the node's metadata (creating __consumer_offsets on
// first use), and forwards the other requests, sender kept, to the
// coordinator actor of the group, a child of the guardian named
// messages.GroupActorName(group), spawned on first use. A group is served
// only while this node leads its __consumer_offsets partition; otherwise
// the request is answered with NOT_COORDINATOR.
//
// Every method runs inside the guardian's Receive, with its context; the
// Host is owned by the guardian actor.
type Host struct {
	cfg         Config
	nodeID      int32
	createTopic CreateTopicFunc
	groups      map[string]*actor.PID
	// creating is set while a goroutine creates __consumer_offsets; the
	// goroutine clears it when done (its own timeout bounds it).
	creating atomic.Bool
}

// NewHost returns the Host of node nodeID. createTopic creates
// __consumer_offsets (controller.CreateInternalTopic; every write the
// controller makes is a check-and-set, so any node may call it). It panics
// on an invalid cfg.Group (a programming error).
func NewHost(nodeID int32, createTopic CreateTopicFunc, cfg Config) *Host {
	cfg = cfg.withDefaults()
	if err := cfg.Group.Validate(); err != nil {
		panic(err)
	}
	return &Host{cfg: cfg, nodeID: nodeID, createTopic: createTopic, groups: make(map[string]*actor.PID)}
}

// Handle serves ctx's message if it is a group request and reports whether
// it was one. view is the guardian's current view of the cluster.
func (h *Host) Handle(ctx actor.Context, view controller.ClusterView) bool {
	switch m := ctx.Message().(type) {
	case *messages.FindCoordinatorRequest:
		h.handleFindCoordinator(ctx, view, m)
	case *messages.JoinGroupRequest:
		h.forward(ctx, view, m.GroupId)
	case *messages.SyncGroupRequest:
		h.forward(ctx, view, m.GroupId)
	case *messages.HeartbeatRequest:
		h.forward(ctx, view, m.GroupId)
	case *messages.LeaveGroupRequest:
		h.forward(ctx, view, m.GroupId)
	case *messages.OffsetCommitRequest:
		h.forward(ctx, view, m.GroupId)
	case *messages.OffsetFetchRequest:
		h.forward(ctx, view, m.GroupId)
	case *messages.OffsetDeleteRequest:
		h.forward(ctx, view, m.GroupId)
	case *messages.TxnOffsetCommitRequest:
		h.forward(ctx, view, m.GroupId)
	case *messages.TxnOffsetsCompletedRequest:
		h.handleTxnOffsetsCompleted(ctx, view, m)
	case *messages.DescribeGroupsRequest:
		h.gather(ctx, view, m.Groups, func(g string) any { return &messages.DescribeGroupsRequest{Groups: []string{g}} })
	case *messages.DeleteGroupsRequest:
		h.gather(ctx, view, m.Groups, func(g string) any { return &messages.DeleteGroupsRequest{Groups: []string{g}} })
	case *messages.ListGroupsRequest:
		h.handleListGroups(ctx, view, m)
	default:
		return false
	}
	return true
}

// handleFindCoordinator names the leader of the group's partition.
func (h *Host) handleFindCoordinator(ctx actor.Context, view controller.ClusterView, m *messages.FindCoordinatorRequest) {
	if m.GroupId == "" {
		respondError(ctx, messages.Wrap(messages.ErrorCode_INVALID_GROUP_ID, "empty group id"))
		return
	}
	t, ok := view.Snapshot.Topics[messages.ConsumerOffsetsTopic]
	if !ok || t.Partitions() == 0 {
		h.ensureOffsetsTopic(ctx, view)
		respondError(ctx, messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "%s is being created", messages.ConsumerOffsetsTopic))
		return
	}
	p := core.OffsetsPartition(m.GroupId, int32(t.Partitions()))
	st, ok := view.Snapshot.State(messages.ConsumerOffsetsTopic, p)
	if ok && st.Leader >= 0 {
		for _, mb := range view.Members {
			if mb.NodeID == st.Leader {
				ctx.Respond(&messages.FindCoordinatorResponse{NodeId: mb.NodeID, Address: mb.Address})
				return
			}
		}
	}
	respondError(ctx, messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE,
		"%s/%d has no live leader", messages.ConsumerOffsetsTopic, p))
}

// EnsureOffsetsTopic creates __consumer_offsets, as FindCoordinator does,
// if view does not have it yet: requests that need it before any group
// was looked up (AddOffsetsToTxn) answer COORDINATOR_NOT_AVAILABLE until
// it exists, and the client's retry finds it.
func (h *Host) EnsureOffsetsTopic(ctx actor.Context, view controller.ClusterView) {
	if t, ok := view.Snapshot.Topics[messages.ConsumerOffsetsTopic]; !ok || t.Partitions() == 0 {
		h.ensureOffsetsTopic(ctx, view)
	}
}

// ensureOffsetsTopic creates __consumer_offsets in a goroutine unless one
// is at it. The node's metadata watch brings the new topic in; until then
// FindCoordinator answers COORDINATOR_NOT_AVAILABLE and clients retry.
func (h *Host) ensureOffsetsTopic(ctx actor.Context, view controller.ClusterView) {
	if h.createTopic == nil || !h.creating.CompareAndSwap(false, true) {
		return
	}
	rf := min(h.cfg.OffsetsReplicationFactor, int32(max(len(view.Members), 1)))
	req := &messages.CreateTopicRequest{
		Name:              messages.ConsumerOffsetsTopic,
		Partitions:        h.cfg.OffsetsPartitions,
		ReplicationFactor: rf,
		Configs: map[string]string{
			metadata.ConfigCleanupPolicy: metadata.CleanupCompact,
			metadata.ConfigSegmentBytes:  strconv.FormatInt(h.cfg.OffsetsSegmentBytes, 10),
		},
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

// coordinates returns the __consumer_offsets partition of groupID and its
// leader epoch if this node leads it.
func (h *Host) coordinates(view controller.ClusterView, groupID string) (int32, int32, error) {
	if groupID == "" {
		return 0, 0, messages.Wrap(messages.ErrorCode_INVALID_GROUP_ID, "empty group id")
	}
	t, ok := view.Snapshot.Topics[messages.ConsumerOffsetsTopic]
	if !ok || t.Partitions() == 0 {
		return 0, 0, messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "%s does not exist yet", messages.ConsumerOffsetsTopic)
	}
	p := core.OffsetsPartition(groupID, int32(t.Partitions()))
	st, ok := view.Snapshot.State(messages.ConsumerOffsetsTopic, p)
	if !ok || st.Leader != h.nodeID {
		return 0, 0, messages.Wrap(messages.ErrorCode_NOT_COORDINATOR, "node %d does not coordinate group %q", h.nodeID, groupID)
	}
	return p, st.LeaderEpoch, nil
}

// actorFor returns the coordinator actor of groupID, spawning it if
// needed, and tells it where its group lives now.
func (h *Host) actorFor(ctx actor.Context, groupID string, partition, epoch int32) (*actor.PID, error) {
	pid, ok := h.groups[groupID]
	if ok {
		if _, alive := ctx.ActorSystem().ProcessRegistry.GetLocal(pid.Id); !alive {
			delete(h.groups, groupID)
			ok = false
		}
	}
	if !ok {
		var err error
		pid, err = ctx.SpawnNamed(Props(groupID, h.cfg), messages.GroupActorName(groupID))
		if err != nil {
			return nil, messages.Wrap(messages.ErrorCode_COORDINATOR_NOT_AVAILABLE, "start coordinator of group %q: %v", groupID, err)
		}
		h.groups[groupID] = pid
	}
	ctx.Send(pid, &Activate{Partition: partition, LeaderEpoch: epoch})
	return pid, nil
}

// forward hands a request to its group's actor, sender kept.
func (h *Host) forward(ctx actor.Context, view controller.ClusterView, groupID string) {
	p, epoch, err := h.coordinates(view, groupID)
	if err != nil {
		respondError(ctx, err)
		return
	}
	pid, err := h.actorFor(ctx, groupID, p, epoch)
	if err != nil {
		respondError(ctx, err)
		return
	}
	ctx.Forward(pid)
}
