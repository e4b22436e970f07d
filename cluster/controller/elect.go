package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
)

// ElectLeaders brings every partition in line with the live members, as the
// controller does when a node joins or leaves:
//   - a partition whose leader is not live (or is -1) gets the first live
//     replica, in assignment order, that is in the ISR; its leader epoch is
//     bumped and its ISR becomes the live part of the old one;
//   - with no live ISR member, unclean.leader.election.enable lets the first
//     live replica lead (ISR: just it; data may be lost); otherwise the
//     partition is offline (leader -1, epoch bumped once, ISR kept so that a
//     returning ISR member is elected);
//   - a dead follower is dropped from the ISR of a live leader, without an
//     epoch change;
//   - a node in controlled shutdown (metadata.ShuttingDownPrefix) hands
//     its leaderships to other in-sync members in a new epoch and leaves
//     the ISRs that keep another member;
//   - reassignments in progress advance (AdvanceReassignments).
//
// A member whose log dir is offline (metadata.LogDirsPrefix) counts as
// dead here: its leaderships move and it leaves the ISRs.
//
// It returns the partitions it changed. With no live members at all it
// changes nothing: a node that sees no members (itself included) does not
// know who is alive. Each change is a check-and-set against the state it was
// computed from, re-read and recomputed when it loses a race.
func (c *Controller) ElectLeaders(ctx context.Context) ([]metadata.TopicPartition, error) {
	nodes, members, snap, err := c.servingView(ctx)
	if err != nil || members == 0 {
		return nil, err
	}
	var changed []metadata.TopicPartition
	var offline, partitions int64
	defer func() {
		c.stats.Offline.Store(offline)
		c.stats.Partitions.Store(partitions)
		c.stats.Topics.Store(int64(len(snap.Topics)))
	}()
	for _, name := range snap.TopicNames() {
		topic := snap.Topics[name]
		unclean := false
		if cfg, err := topic.Config(c.defaults); err == nil {
			unclean = cfg.UncleanLeaderElection
		}
		for p, replicas := range topic.Replicas {
			tp := metadata.TopicPartition{Topic: name, Partition: int32(p)}
			partitions++
			state, ok := snap.States[tp]
			if !ok {
				continue // being created; its creator writes the state
			}
			did, leader, err := c.electOne(ctx, tp, replicas, state, nodes, unclean)
			if err != nil {
				return changed, err
			}
			if leader < 0 {
				offline++
			}
			if did {
				changed = append(changed, tp)
			}
		}
	}
	moved, err := c.AdvanceReassignments(ctx)
	return append(changed, moved...), err
}

// electOne applies electLeader to one partition, retrying lost races. It
// reports whether it changed the state, and the leader the partition has
// (-1: offline).
func (c *Controller) electOne(ctx context.Context, tp metadata.TopicPartition, replicas []int32, state metadata.PartitionState, nodes nodeSet, unclean bool) (bool, int32, error) {
	did, leader := false, state.Leader
	err := c.retry(ctx, func() error {
		next, change := electLeader(replicas, state, nodes, unclean)
		if !change {
			leader = state.Leader
			return nil
		}
		_, err := metadata.CASPartitionState(ctx, c.store, tp.Topic, tp.Partition, next, state.Version)
		if errors.Is(err, cluster.ErrVersionMismatch) {
			fresh, gerr := metadata.GetPartitionState(ctx, c.store, tp.Topic, tp.Partition)
			if gerr != nil {
				return gerr
			}
			state = fresh
			return err
		}
		if did = err == nil; did {
			c.stats.countChange(state, next)
			leader = next.Leader
		}
		return err
	})
	if err != nil {
		return false, leader, fmt.Errorf("controller: elect leader of %s: %w", tp, err)
	}
	return did, leader, nil
}

// electLeader computes a partition's next state given the live nodes; it
// reports false when the state is already right. A node shutting down
// counts as live but hands its leadership to another in-sync member and
// leaves the ISR when another member stays in it; it is elected only when
// no other in-sync member is live, rather than leave the partition
// offline.
func electLeader(replicas []int32, state metadata.PartitionState, nodes nodeSet, unclean bool) (metadata.PartitionState, bool) {
	liveISR := make([]int32, 0, len(state.ISR))
	stayISR := make([]int32, 0, len(state.ISR)) // live and not leaving
	for _, n := range state.ISR {
		if nodes.live[n] {
			liveISR = append(liveISR, n)
			if !nodes.leaving[n] {
				stayISR = append(stayISR, n)
			}
		}
	}
	keep := func(isr []int32) (metadata.PartitionState, bool) {
		if len(isr) == len(state.ISR) {
			return state, false
		}
		return metadata.PartitionState{Leader: state.Leader, LeaderEpoch: state.LeaderEpoch, ISR: isr}, true
	}
	elect := func(candidates, isr []int32) (metadata.PartitionState, bool) {
		for _, n := range replicas {
			if slices.Contains(candidates, n) {
				return metadata.PartitionState{Leader: n, LeaderEpoch: state.LeaderEpoch + 1, ISR: isr}, true
			}
		}
		return metadata.PartitionState{}, false
	}
	switch {
	case state.Leader >= 0 && nodes.canLead(state.Leader):
		// Dead and leaving followers leave the ISR; the leader stays.
		return keep(stayISR)
	case state.Leader >= 0 && nodes.live[state.Leader]:
		// The leader is shutting down: another in-sync member takes over
		// in a new epoch; with none, it leads until it stops.
		if next, ok := elect(stayISR, stayISR); ok {
			return next, true
		}
		return keep(liveISR)
	}
	if next, ok := elect(stayISR, stayISR); ok {
		return next, true
	}
	if next, ok := elect(liveISR, liveISR); ok {
		return next, true // a leaving member rather than none
	}
	if unclean {
		for _, n := range replicas {
			if nodes.canLead(n) {
				return metadata.PartitionState{Leader: n, LeaderEpoch: state.LeaderEpoch + 1, ISR: []int32{n}}, true
			}
		}
		for _, n := range replicas {
			if nodes.live[n] {
				return metadata.PartitionState{Leader: n, LeaderEpoch: state.LeaderEpoch + 1, ISR: []int32{n}}, true
			}
		}
	}
	if state.Leader == -1 {
		return state, false // already offline
	}
	return metadata.PartitionState{Leader: -1, LeaderEpoch: state.LeaderEpoch + 1, ISR: slices.Clone(state.ISR)}, true
}
