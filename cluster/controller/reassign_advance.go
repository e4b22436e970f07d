package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

// AdvanceReassignments carries every reassignment in progress one step
// further, as the controller does on each pass: a move not yet expanded
// gets its old and new replicas listed and a new leader epoch; an expanded
// one whose target replicas are all in the ISR completes. It returns the
// partitions it completed. Records of topics deleted (or created again)
// meanwhile are dropped. Every step is a check-and-set and can be repeated,
// so a pass that stops halfway (the controller moved) is finished by the
// next controller's.
func (c *Controller) AdvanceReassignments(ctx context.Context) ([]metadata.TopicPartition, error) {
	recs, err := listReassignments(ctx, c.store, ReassignmentsPrefix)
	if err != nil {
		return nil, err
	}
	var done []metadata.TopicPartition
	var errs []error
	for _, rec := range recs {
		completed, err := c.advance(ctx, rec)
		if errors.Is(err, cluster.ErrVersionMismatch) {
			continue // something moved meanwhile; the next pass looks again
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("controller: reassign %s: %w", rec.tp, err))
			continue
		}
		if completed {
			done = append(done, rec.tp)
		}
	}
	return done, errors.Join(errs...)
}

// advance runs the next step of one reassignment and reports whether it
// completed.
func (c *Controller) advance(ctx context.Context, rec reassignment) (bool, error) {
	topic, err := metadata.GetTopic(ctx, c.store, rec.tp.Topic)
	if errors.Is(err, messages.ErrUnknownTopicOrPartition) {
		return false, c.dropReassignment(ctx, rec)
	}
	if err != nil {
		return false, err
	}
	if topic.ID != rec.TopicID || int(rec.tp.Partition) >= topic.Partitions() {
		return false, c.dropReassignment(ctx, rec)
	}
	state, err := metadata.GetPartitionState(ctx, c.store, rec.tp.Topic, rec.tp.Partition)
	if err != nil {
		return false, err
	}
	current := topic.Replicas[rec.tp.Partition]
	if !rec.Expanded {
		return false, c.expand(ctx, rec, topic, current, state)
	}
	if state.Leader < 0 || !containsAll(state.ISR, rec.Target) {
		return false, nil // still catching up (or offline)
	}
	return true, c.complete(ctx, rec, topic, current, state)
}

// expand lists the old and new replicas and starts a new leader epoch, so
// the leader pushes to the new followers, then marks the record expanded.
func (c *Controller) expand(ctx context.Context, rec reassignment, topic metadata.Topic, current []int32, state metadata.PartitionState) error {
	all := union(current, rec.Target)
	if !slices.Equal(all, current) {
		if err := writeReplicas(ctx, c.store, topic, rec.tp.Partition, all); err != nil {
			return err
		}
	}
	if state.Leader >= 0 {
		// Replicas follow the leader's replica list only from a new epoch.
		next := metadata.PartitionState{Leader: state.Leader, LeaderEpoch: state.LeaderEpoch + 1, ISR: slices.Clone(state.ISR)}
		if _, err := metadata.CASPartitionState(ctx, c.store, rec.tp.Topic, rec.tp.Partition, next, state.Version); err != nil {
			return err
		}
	}
	// An offline partition's next leader starts with the full list anyway.
	rec.Expanded = true
	_, err := putReassignment(ctx, c.store, rec)
	return err
}

// complete makes the target the replica list, drops the other replicas
// from the ISR and starts a new leader epoch, electing the first target
// replica in the ISR when the leader leaves; then it deletes the record.
// The replicas that left stop and delete their data when their nodes see
// the new list.
func (c *Controller) complete(ctx context.Context, rec reassignment, topic metadata.Topic, current []int32, state metadata.PartitionState) error {
	if !slices.Equal(current, rec.Target) {
		if err := writeReplicas(ctx, c.store, topic, rec.tp.Partition, rec.Target); err != nil {
			return err
		}
	}
	isr := intersect(state.ISR, rec.Target)
	if !slices.Contains(rec.Target, state.Leader) || len(isr) != len(state.ISR) {
		leader := state.Leader
		if !slices.Contains(rec.Target, leader) {
			leader = intersect(rec.Target, isr)[0]
		}
		next := metadata.PartitionState{Leader: leader, LeaderEpoch: state.LeaderEpoch + 1, ISR: isr}
		if _, err := metadata.CASPartitionState(ctx, c.store, rec.tp.Topic, rec.tp.Partition, next, state.Version); err != nil {
			return err
		}
	}
	return c.dropReassignment(ctx, rec)
}

// dropReassignment deletes the record it was read with.
func (c *Controller) dropReassignment(ctx context.Context, rec reassignment) error {
	if err := c.store.Delete(ctx, reassignmentKey(rec.tp), rec.version); err != nil && !errors.Is(err, cluster.ErrNotFound) {
		return fmt.Errorf("controller: delete reassignment of %s: %w", rec.tp, err)
	}
	return nil
}

// containsAll reports whether every id of want is in have.
func containsAll(have, want []int32) bool {
	for _, n := range want {
		if !slices.Contains(have, n) {
			return false
		}
	}
	return true
}

// ListReassignments reports the reassignments in progress with the
// replicas each still adds (not yet in the ISR) and removes.
func (c *Controller) ListReassignments(ctx context.Context, _ *messages.ListReassignmentsRequest) *messages.ListReassignmentsResponse {
	recs, err := listReassignments(ctx, c.store, ReassignmentsPrefix)
	if err != nil {
		return &messages.ListReassignmentsResponse{ErrorCode: codeOf(err), ErrorMessage: errorMessage(err)}
	}
	snap, err := c.decoder.Load(ctx, c.store)
	if err != nil {
		return &messages.ListReassignmentsResponse{ErrorCode: codeOf(err), ErrorMessage: errorMessage(err)}
	}
	res := &messages.ListReassignmentsResponse{}
	for _, rec := range recs {
		topic, ok := snap.Topics[rec.tp.Topic]
		if !ok || topic.ID != rec.TopicID || int(rec.tp.Partition) >= topic.Partitions() {
			continue
		}
		state, _ := snap.State(rec.tp.Topic, rec.tp.Partition)
		current := topic.Replicas[rec.tp.Partition]
		pr := &messages.PartitionReassignment{
			Topic: rec.tp.Topic, Partition: rec.tp.Partition, Target: rec.Target,
			Replicas: current, Isr: state.ISR, Leader: state.Leader,
		}
		for _, n := range rec.Target {
			if !slices.Contains(state.ISR, n) {
				pr.Adding = append(pr.Adding, n)
			}
		}
		for _, n := range union(current, nil) {
			if !slices.Contains(rec.Target, n) {
				pr.Removing = append(pr.Removing, n)
			}
		}
		res.Reassignments = append(res.Reassignments, pr)
	}
	return res
}
