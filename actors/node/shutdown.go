package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/controller"
	"github.com/sluice-mq/sluice/cluster/metadata"
)

// ErrShutdownIncomplete means a controlled shutdown ended (timeout) while
// the node still led partitions that another in-sync replica could lead.
var ErrShutdownIncomplete = errors.New("node: controlled shutdown incomplete")

// Internal messages of the controlled shutdown.
type (
	// shutdownRequest starts the controlled shutdown; its sender gets
	// shutdownDone.
	shutdownRequest struct{}
	// shutdownRecorded reports the write of the node's shutdown record.
	shutdownRecorded struct{ err error }
	shutdownDone     struct{ err error }
)

// leavingState is the controlled shutdown in progress. Owned by the
// guardian; nil until a shutdownRequest.
type leavingState struct {
	// requester is answered once nothing is pending (nil once answered).
	requester *actor.PID
	// recorded is set once the store holds the shutdown record.
	recorded bool
}

// handleShutdownRequest writes the node's shutdown record (in a
// goroutine); the controller then moves the node's leaderships to other
// in-sync replicas and drops it from ISRs, and checkShutdown answers once
// the node's own view shows it done.
func (n *node) handleShutdownRequest(ctx actor.Context) {
	if n.closing {
		ctx.Respond(&shutdownDone{err: fmt.Errorf("%w: node is already stopping", ErrShutdownIncomplete)})
		return
	}
	if n.leaving != nil {
		n.leaving.requester = ctx.Sender()
		n.checkShutdown(ctx)
		return
	}
	n.leaving = &leavingState{requester: ctx.Sender()}
	n.logger.Info("controlled shutdown: moving leaderships off this node", "node_id", n.cfg.Self.NodeID)
	root, self := ctx.ActorSystem().Root, ctx.Self()
	runCtx, store, id, timeout := n.runCtx, n.cfg.Store, n.cfg.Self.NodeID, n.cfg.adminTimeout()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		c, cancel := context.WithTimeout(runCtx, timeout)
		defer cancel()
		root.Send(self, &shutdownRecorded{err: metadata.PutShuttingDown(c, store, id, time.Now())})
	}()
}

func (n *node) handleShutdownRecorded(ctx actor.Context, m *shutdownRecorded) {
	if n.leaving == nil {
		return
	}
	if m.err != nil {
		if n.leaving.requester != nil {
			ctx.Send(n.leaving.requester, &shutdownDone{err: fmt.Errorf("%w: %w", ErrShutdownIncomplete, m.err)})
		}
		n.leaving = nil
		return
	}
	n.leaving.recorded = true
	n.checkShutdown(ctx)
}

// checkShutdown answers the controlled shutdown once the node's view (the
// one its replicas follow) has it leading nothing that can move and in no
// ISR it can leave. Called after every metadata or membership change.
func (n *node) checkShutdown(ctx actor.Context) {
	l := n.leaving
	if l == nil || !l.recorded || l.requester == nil {
		return
	}
	pending := controller.ShutdownPending(n.view.Snapshot, n.view.Members, n.cfg.Self.NodeID)
	if len(pending) > 0 {
		return
	}
	n.logger.Info("controlled shutdown: no leadership left to move", "node_id", n.cfg.Self.NodeID)
	ctx.Send(l.requester, &shutdownDone{})
	l.requester = nil
}

// ControlledShutdown asks the node guardian at pid to move the node's
// partition leaderships to other in-sync replicas before it stops
// (Kafka's controlled shutdown): it records the shutdown in the metadata
// store, which the controller acts on, and returns once the node's view
// shows nothing left to move, or with ErrShutdownIncomplete after
// timeout. Drain the node afterwards.
func ControlledShutdown(system *actor.ActorSystem, pid *actor.PID, timeout time.Duration) error {
	res, err := system.Root.RequestFuture(pid, &shutdownRequest{}, timeout).Result()
	if err != nil {
		return fmt.Errorf("%w after %s: %w", ErrShutdownIncomplete, timeout, err)
	}
	if done, ok := res.(*shutdownDone); ok && done.err != nil {
		return done.err
	}
	return nil
}
