package node

import (
	"context"
	"math"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/producerid"
	"github.com/sluice-mq/sluice/messages"
)

// maxQueuedInitProducerID bounds the InitProducerId requests waiting for a
// block claim; more are refused with the retriable
// COORDINATOR_LOAD_IN_PROGRESS (Kafka's answer while its next block is not
// there yet).
const maxQueuedInitProducerID = 1000

// maxProducerEpoch is the highest epoch handed out: an epoch is an int16
// on the wire and Kafka keeps its top value for fencing markers, so a bump
// from maxProducerEpoch gets a new producer id instead.
const maxProducerEpoch = math.MaxInt16 - 1

// blockClaimed reports a producer-id block claim run off the actor.
type blockClaimed struct {
	block producerid.Block
	err   error
}

// queuedInit is an InitProducerId waiting for a block.
type queuedInit struct {
	sender *actor.PID
}

// handleInitProducerID answers InitProducerId without a transactional id
// on any node: a new session gets a fresh id (epoch 0) from the node's
// block; an idempotent producer that sends its id and epoch (KIP-360,
// after losing its sequence state) gets the same id with the epoch bumped,
// or a fresh id once the epoch is exhausted. Ids come from blocks claimed
// in the metadata store by check-and-set; the claim runs in a goroutine
// and requests wait for it in a bounded queue.
//
// Transaction coordinators get the fresh ids they hand out the same way:
// an InitProducerIdRequest without a transactional id to the local node.
func (n *node) handleInitProducerID(ctx actor.Context, m *messages.InitProducerIdRequest) {
	if m.TransactionalId != "" {
		n.respondInit(ctx, ctx.Sender(), initError(messages.Wrap(messages.ErrorCode_INVALID_REQUEST,
			"transactional id %q: transactions are not supported", m.TransactionalId)))
		return
	}
	switch {
	case m.ProducerId < -1 || m.ProducerEpoch < -1 || m.ProducerEpoch > math.MaxInt16:
		n.respondInit(ctx, ctx.Sender(), initError(messages.Wrap(messages.ErrorCode_INVALID_REQUEST,
			"invalid producer id %d, epoch %d", m.ProducerId, m.ProducerEpoch)))
		return
	case (m.ProducerId == -1) != (m.ProducerEpoch == -1):
		n.respondInit(ctx, ctx.Sender(), initError(messages.Wrap(messages.ErrorCode_INVALID_REQUEST,
			"producer id %d and epoch %d: give both or neither", m.ProducerId, m.ProducerEpoch)))
		return
	case m.ProducerId >= 0 && m.ProducerEpoch < maxProducerEpoch:
		n.respondInit(ctx, ctx.Sender(), &messages.InitProducerIdResponse{
			ProducerId: m.ProducerId, ProducerEpoch: m.ProducerEpoch + 1})
		return
	}
	if n.closing {
		n.respondInit(ctx, ctx.Sender(), initError(messages.Wrap(messages.ErrorCode_BROKER_NOT_AVAILABLE,
			"node %d is shutting down", n.cfg.Self.NodeID)))
		return
	}
	if id, ok := n.producerIDs.Next(); ok && len(n.initQueue) == 0 {
		n.respondInit(ctx, ctx.Sender(), &messages.InitProducerIdResponse{ProducerId: id})
		n.maybeClaimBlock(ctx)
		return
	}
	if len(n.initQueue) >= maxQueuedInitProducerID {
		n.respondInit(ctx, ctx.Sender(), initError(messages.Wrap(messages.ErrorCode_COORDINATOR_LOAD_IN_PROGRESS,
			"node %d is claiming a producer id block", n.cfg.Self.NodeID)))
		return
	}
	n.initQueue = append(n.initQueue, queuedInit{sender: ctx.Sender()})
	n.maybeClaimBlock(ctx)
}

// maybeClaimBlock starts a block claim when the allocator wants one.
func (n *node) maybeClaimBlock(ctx actor.Context) {
	if n.closing || !n.producerIDs.Prefetch() {
		return
	}
	root, self := ctx.ActorSystem().Root, ctx.Self()
	runCtx, store, nodeID := n.runCtx, n.cfg.Store, n.cfg.Self.NodeID
	size, timeout := n.producerIDs.BlockSize(), n.cfg.adminTimeout()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		c, cancel := context.WithTimeout(runCtx, timeout)
		defer cancel()
		b, err := producerid.Claim(c, store, nodeID, size)
		root.Send(self, &blockClaimed{block: b, err: err})
	}()
}

// handleBlockClaimed hands the new block's ids to the queued requests, or
// fails them with a retriable error when the claim failed.
func (n *node) handleBlockClaimed(ctx actor.Context, m *blockClaimed) {
	if m.err != nil {
		n.producerIDs.ClaimFailed()
		n.logger.Warn("claim producer id block", "error", m.err)
		err := messages.Wrap(messages.ErrorCode_COORDINATOR_LOAD_IN_PROGRESS, "claim producer id block: %v", m.err)
		for _, q := range n.initQueue {
			n.respondInit(ctx, q.sender, initError(err))
		}
		n.initQueue = nil
		return
	}
	n.producerIDs.Claimed(m.block)
	n.logger.Debug("claimed producer id block", "block", m.block.String())
	served := 0
	for _, q := range n.initQueue {
		id, ok := n.producerIDs.Next()
		if !ok {
			break
		}
		n.respondInit(ctx, q.sender, &messages.InitProducerIdResponse{ProducerId: id})
		served++
	}
	n.initQueue = append(n.initQueue[:0], n.initQueue[served:]...)
	n.maybeClaimBlock(ctx)
}

func (n *node) respondInit(ctx actor.Context, to *actor.PID, res *messages.InitProducerIdResponse) {
	if to != nil {
		ctx.Send(to, res)
	}
}

func initError(err error) *messages.InitProducerIdResponse {
	return &messages.InitProducerIdResponse{
		ErrorCode: messages.CodeFor(err), ErrorMessage: err.Error(), ProducerId: -1, ProducerEpoch: -1}
}

// failInitQueue answers the queued InitProducerId requests of a node that
// is shutting down.
func (n *node) failInitQueue(ctx actor.Context) {
	err := messages.Wrap(messages.ErrorCode_BROKER_NOT_AVAILABLE, "node %d is shutting down", n.cfg.Self.NodeID)
	for _, q := range n.initQueue {
		n.respondInit(ctx, q.sender, initError(err))
	}
	n.initQueue = nil
}
