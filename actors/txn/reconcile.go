package txn

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/controller"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/txnstate"
)

// Reconcile follows the node's leadership of __transaction_state
// partitions; the guardian calls it whenever its view changes. A partition
// this node starts leading (or leads in a new epoch) is scanned, and every
// id with a transaction in progress there (Ongoing, PrepareCommit,
// PrepareAbort) gets its actor at once: a decided transaction is completed
// and an open one times out even if its producer never comes back. Actors
// of ids in partitions this node no longer leads are stopped.
func (h *Host) Reconcile(ctx actor.Context, view controller.ClusterView) {
	led := make(map[int32]int32)
	t, ok := view.Snapshot.Topics[messages.TransactionStateTopic]
	if ok {
		for p := range int32(t.Partitions()) {
			if st, ok := view.Snapshot.State(messages.TransactionStateTopic, p); ok && st.Leader == h.nodeID {
				led[p] = st.LeaderEpoch
			}
		}
	}
	for p, epoch := range led {
		if old, ok := h.led[p]; !ok || old != epoch {
			ctx.Spawn(scanProps(p, epoch, ctx.Self(), h.cfg.LoadFetchBytes, scanPatience))
		}
	}
	for id, pid := range h.txns {
		if !ok {
			break
		}
		if _, still := led[txnstate.StatePartition(id, int32(t.Partitions()))]; !still {
			ctx.Poison(pid)
			delete(h.txns, id)
		}
	}
	h.led = led
}

// handleScanned activates the ids of a scanned partition that have a
// transaction in progress, if this node still leads it in that epoch.
func (h *Host) handleScanned(ctx actor.Context, view controller.ClusterView, m *partitionScanned) {
	if epoch, ok := h.led[m.partition]; !ok || epoch != m.epoch {
		return
	}
	if m.err != nil {
		h.cfg.Logger.Warn("scan of transaction state failed; open transactions there wait for their producers",
			"partition", m.partition, "error", m.err)
		return
	}
	for id, md := range m.replay.Txns {
		switch md.State {
		case txnstate.Ongoing, txnstate.PrepareCommit, txnstate.PrepareAbort, txnstate.PrepareEpochFence:
		default:
			continue
		}
		p, epoch, err := h.coordinates(view, id)
		if err != nil || p != m.partition || epoch != m.epoch {
			continue
		}
		if _, err := h.actorFor(ctx, id, p, epoch); err != nil {
			h.cfg.Logger.Warn("start transaction coordinator", "transactional_id", id, "error", err)
		}
	}
}
