package node

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/actors/partition"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

// adminDone is what an admin goroutine reports: the controller's response
// and a snapshot read after it, so the node applies its own write (spawning
// the new replicas) before answering.
type adminDone struct {
	response any
	snapshot metadata.Snapshot
	loaded   bool
}

// handleAdmin runs an admin request on the node that received it, whether
// or not it holds the controller lock: cluster/controller writes only by
// check-and-set, so admin requests on several nodes and the controller's
// elections never overwrite each other, and admin keeps working while the
// controller role moves. The call runs in a goroutine and the answer comes
// back through ReenterAfter, so the mailbox keeps moving.
func (n *node) handleAdmin(ctx actor.Context, call func(context.Context) any) {
	if n.closing {
		ctx.Respond(errorResponse(ctx.Message(), messages.Wrap(messages.ErrorCode_BROKER_NOT_AVAILABLE,
			"node %d is shutting down", n.cfg.Self.NodeID)))
		return
	}
	timeout := n.cfg.adminTimeout()
	system := ctx.ActorSystem()
	future := actor.NewFuture(system, timeout)
	runCtx, store := n.runCtx, n.cfg.Store
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		c, cancel := context.WithTimeout(runCtx, timeout)
		defer cancel()
		done := &adminDone{response: call(c)}
		if snap, err := metadata.Load(c, store); err == nil {
			done.snapshot, done.loaded = snap, true
		}
		system.Root.Send(future.PID(), done)
	}()
	ctx.ReenterAfter(future, func(res any, err error) {
		done, ok := res.(*adminDone)
		if err != nil || !ok {
			ctx.Respond(errorResponse(ctx.Message(), messages.Wrap(messages.ErrorCode_REQUEST_TIMED_OUT,
				"admin request did not complete within %s", timeout)))
			return
		}
		if done.loaded {
			n.apply(ctx, done.snapshot)
		}
		ctx.Respond(done.response)
	})
}

// errorResponse builds the response paired with req carrying err.
func errorResponse(req any, err error) any {
	code, text := messages.CodeFor(err), err.Error()
	switch req.(type) {
	case *messages.MetadataRequest:
		return &messages.MetadataResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.CreateTopicRequest:
		return &messages.CreateTopicResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.DeleteTopicRequest:
		return &messages.DeleteTopicResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.CreatePartitionsRequest:
		return &messages.CreatePartitionsResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.AlterConfigsRequest:
		return &messages.AlterConfigsResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.ReassignPartitionRequest:
		return &messages.ReassignPartitionResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.ListReassignmentsRequest:
		return &messages.ListReassignmentsResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.ElectLeadersRequest:
		return &messages.ElectLeadersResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.DecommissionNodeRequest:
		return &messages.DecommissionNodeResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.ProduceRequest:
		return &messages.ProduceResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.FetchRequest, *partition.FileFetchRequest:
		return &messages.FetchResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.ListOffsetsRequest:
		return &messages.ListOffsetsResponse{ErrorCode: code, ErrorMessage: text, Offset: -1, Timestamp: -1}
	case *messages.PartitionStatusRequest:
		return &messages.PartitionStatusResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.DescribeProducersRequest:
		return &messages.DescribeProducersResponse{ErrorCode: code, ErrorMessage: text}
	case *messages.OffsetsForLeaderEpochRequest:
		return &messages.OffsetsForLeaderEpochResponse{ErrorCode: code, ErrorMessage: text, LeaderEpoch: -1, EndOffset: -1}
	case *messages.DeleteRecordsRequest:
		return &messages.DeleteRecordsResponse{ErrorCode: code, ErrorMessage: text, LowWatermark: -1}
	case *messages.InitProducerIdRequest:
		return initError(err)
	}
	return nil
}
