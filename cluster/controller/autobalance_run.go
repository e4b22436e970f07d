package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/cluster/placement"
	"github.com/sluice-mq/sluice/messages"
)

// LoadBalanceView reads what PlanBalance decides from: the topics and
// partition states, the reassignments in progress, the serving members
// and the decommission records.
func (c *Controller) LoadBalanceView(ctx context.Context) (BalanceView, error) {
	nodes, _, snap, err := c.servingView(ctx)
	if err != nil {
		return BalanceView{}, err
	}
	recs, err := listReassignments(ctx, c.store, ReassignmentsPrefix)
	if err != nil {
		return BalanceView{}, err
	}
	gone, err := decommissionedNodes(ctx, c.store)
	if err != nil {
		return BalanceView{}, err
	}
	targets := make(map[metadata.TopicPartition][]int32, len(recs))
	for _, r := range recs {
		if t, ok := snap.Topics[r.tp.Topic]; ok && t.ID == r.TopicID {
			targets[r.tp] = r.Target
		}
	}
	_, err = c.store.Get(ctx, BalanceRoundKey)
	if err != nil && !errors.Is(err, cluster.ErrNotFound) {
		return BalanceView{}, fmt.Errorf("controller: read balance round: %w", err)
	}
	view := BalanceView{Decommissioned: gone, Round: err == nil}
	for _, n := range nodes.sorted() {
		if !nodes.leaving[n] {
			view.Live = append(view.Live, n)
		}
	}
	for _, name := range snap.TopicNames() {
		for p, replicas := range snap.Topics[name].Replicas {
			tp := metadata.TopicPartition{Topic: name, Partition: int32(p)}
			part := BalancePart{Replicas: placement.Replicas{Topic: name, Partition: int32(p), Nodes: slices.Clone(replicas)}}
			if target, ok := targets[tp]; ok {
				part.Nodes, part.Moving = slices.Clone(target), true
			} else if state, ok := snap.States[tp]; ok {
				// A replica on a decommissioned node may be out of sync
				// (the node may be gone): it is what the move replaces.
				staying := slices.DeleteFunc(slices.Clone(replicas), func(n int32) bool { return gone[n] })
				part.InSync = state.Leader >= 0 && nodes.live[state.Leader] && containsAll(state.ISR, staying)
			}
			view.Parts = append(view.Parts, part)
		}
	}
	return view, nil
}

// ApplyBalance carries out a decision of PlanBalance: it records a round
// that starts, starts a reassignment per move (ReassignPartition: the
// controller's passes carry them out; a partition some other writer
// started moving meanwhile is skipped) and deletes the record of a round
// that ended. It returns the moves it started.
func (c *Controller) ApplyBalance(ctx context.Context, d BalanceDecision) ([]placement.Move, error) {
	if d.StartRound {
		if _, err := c.store.CAS(ctx, BalanceRoundKey, []byte("{}"), 0); err != nil && !errors.Is(err, cluster.ErrVersionMismatch) {
			return nil, fmt.Errorf("controller: start balance round: %w", err)
		}
	}
	var started []placement.Move
	var errs []error
	for _, mv := range d.Moves {
		resp := c.ReassignPartition(ctx, &messages.ReassignPartitionRequest{Topic: mv.Topic, Partition: mv.Partition, Replicas: mv.To})
		switch resp.GetErrorCode() {
		case messages.ErrorCode_NONE:
			started = append(started, mv)
		case messages.ErrorCode_REASSIGNMENT_IN_PROGRESS:
		default:
			errs = append(errs, messages.ErrorForCode(resp.GetErrorCode(), resp.GetErrorMessage()))
		}
	}
	if d.EndRound {
		if err := c.store.Delete(ctx, BalanceRoundKey, 0); err != nil {
			errs = append(errs, fmt.Errorf("controller: end balance round: %w", err))
		}
	}
	return started, errors.Join(errs...)
}
