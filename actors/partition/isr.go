package partition

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/replication"
)

// errISRStale means the stored partition state is not the one an ISR
// change was computed from: another leader, another epoch, or an ISR the
// controller changed meanwhile.
var errISRStale = errors.New("partition: stored partition state changed under the ISR proposal")

// isrWritten reports the outcome of an ISR write; id matches
// replica.isrWrite.
type isrWritten struct {
	id      uint64
	isr     []int32
	version uint64
	err     error
}

// proposeISR persists an ISR change proposed by the core. The write runs
// in a goroutine owned by the replica (stopped and waited for on
// shutdown) and reports with isrWritten, so the mailbox never waits for
// the metadata store. Without a Store the change applies at once.
//
// A change that adds a node which is not a live member (Peer resolves it
// to nil) is refused here: the core's view of that follower is from before
// it went away, and the controller has just dropped it from the ISR. So
// is one that adds a node in controlled shutdown.
func (r *replica) proposeISR(ctx actor.Context, change replication.ISRChange) {
	for _, id := range change.ISR {
		if id == r.cfg.NodeID || slices.Contains(r.lead.ISR(), id) {
			continue
		}
		why := ""
		switch {
		case r.cfg.peer(id) == nil:
			why = "not a live member"
		case r.cfg.shuttingDown(id):
			why = "in controlled shutdown"
		}
		if why != "" {
			r.logger.Debug("not adding a node to the ISR", "node", id, "reason", why)
			r.applyLeader(ctx, r.lead.OnISRChangeFailed())
			return
		}
	}
	r.isrSeq++
	r.isrWrite = r.isrSeq
	if r.cfg.Store == nil {
		r.isrWrite = 0
		r.state.ISR = slices.Clone(change.ISR)
		r.latest.state.ISR = r.state.ISR
		r.applyLeader(ctx, r.lead.OnISRChangeApplied(change.ISR))
		return
	}
	if r.isrCtx == nil {
		r.isrCtx, r.isrCancel = context.WithCancel(context.Background())
	}
	wctx, cancel := context.WithTimeout(r.isrCtx, r.cfg.metadataTimeout())
	store, topic, partition, self := r.cfg.Store, r.cfg.Topic, r.cfg.Partition, r.cfg.NodeID
	basis, id := r.lead.ISR(), r.isrWrite
	system, pid := ctx.ActorSystem(), ctx.Self()
	r.logger.Info("proposing ISR change", "epoch", change.LeaderEpoch, "isr", basis, "proposed", change.ISR)
	r.isrWG.Add(1)
	go func() {
		defer r.isrWG.Done()
		defer cancel()
		version, err := writeISR(wctx, store, topic, partition, self, change, basis)
		system.Root.Send(pid, &isrWritten{id: id, isr: change.ISR, version: version, err: err})
	}()
}

// writeISR replaces the stored ISR with change.ISR when the stored state
// still has this node leading change.LeaderEpoch with ISR basis, by CAS
// against the version it read.
func writeISR(ctx context.Context, store cluster.Store, topic string, partition, self int32, change replication.ISRChange, basis []int32) (uint64, error) {
	st, err := metadata.GetPartitionState(ctx, store, topic, partition)
	if err != nil {
		return 0, err
	}
	stored := slices.Clone(st.ISR)
	slices.Sort(stored)
	if st.Leader != self || st.LeaderEpoch != change.LeaderEpoch || !slices.Equal(stored, basis) {
		return 0, fmt.Errorf("%w: leader %d epoch %d isr %v", errISRStale, st.Leader, st.LeaderEpoch, st.ISR)
	}
	st.ISR = slices.Clone(change.ISR)
	return metadata.CASPartitionState(ctx, store, topic, partition, st, st.Version)
}

// handleISRWritten applies the outcome of the ISR write in flight; results
// of writes the replica has since forgotten (a new epoch, an ISR learnt
// from the metadata) are ignored.
func (r *replica) handleISRWritten(ctx actor.Context, m *isrWritten) {
	if r.lead == nil || m.id != r.isrWrite {
		return
	}
	r.isrWrite = 0
	if m.err != nil {
		r.logger.Warn("ISR change not written", "proposed", m.isr, "error", m.err)
		r.applyLeader(ctx, r.lead.OnISRChangeFailed())
		return
	}
	r.logger.Info("ISR changed", "epoch", r.lead.Epoch(), "isr", m.isr)
	r.cfg.Metrics.isrChanged(len(m.isr) < len(r.lead.ISR()))
	r.stateVersion = max(r.stateVersion, m.version)
	r.state.ISR = slices.Clone(m.isr)
	r.state.Version = r.stateVersion
	r.latest.state = r.state
	r.applyLeader(ctx, r.lead.OnISRChangeApplied(m.isr))
}

// stopISRWrites cancels the ISR write in flight and waits for its
// goroutine.
func (r *replica) stopISRWrites() {
	if r.isrCancel != nil {
		r.isrCancel()
		r.isrWG.Wait()
		r.isrCtx, r.isrCancel = nil, nil
	}
	r.isrWrite = 0
}

// sameMembers reports whether two replica sets hold the same node ids.
func sameMembers(a, b []int32) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
