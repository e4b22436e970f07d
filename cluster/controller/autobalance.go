package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/cluster/placement"
	"github.com/sluice-mq/sluice/messages"
)

// DecommissionedPrefix holds one key per node an operator decommissioned
// (`sluice node decommission N`): decommissioned/<id>. While it is there
// the controller's automatic balance moves every replica off the node;
// removing it puts the node back into placement.
const DecommissionedPrefix = "decommissioned/"

func decommissionedKey(node int32) string { return DecommissionedPrefix + strconv.Itoa(int(node)) }

// Decommission records (or, with Cancel, removes) an operator's intent to
// take a node out of placement. The controller's automatic balance then
// moves the node's replicas to the other nodes; the request returns at
// once. Recording it twice is not an error.
func (c *Controller) Decommission(ctx context.Context, req *messages.DecommissionNodeRequest) *messages.DecommissionNodeResponse {
	key := decommissionedKey(req.GetNodeId())
	var err error
	if req.GetCancel() {
		err = c.store.Delete(ctx, key, 0) // absent is fine
	} else {
		_, err = c.store.CAS(ctx, key, []byte("{}"), 0)
		if errors.Is(err, cluster.ErrVersionMismatch) {
			err = nil // recorded already
		}
	}
	if err != nil {
		err = fmt.Errorf("controller: decommission node %d: %w", req.GetNodeId(), err)
		return &messages.DecommissionNodeResponse{ErrorCode: codeOf(err), ErrorMessage: errorMessage(err)}
	}
	return &messages.DecommissionNodeResponse{}
}

// decommissionedNodes returns the nodes with a decommission record.
func decommissionedNodes(ctx context.Context, st cluster.Store) (map[int32]bool, error) {
	return metadata.NodesUnder(ctx, st, DecommissionedPrefix)
}

// BalanceRoundKey is present while an automatic balance round is under
// way: written when a round starts (a node joined empty, or one was
// decommissioned), deleted when the planner finds nothing left to move.
// While it is there every pass carries the plan on, so a round survives a
// controller failover and does not stop halfway when the trigger is gone
// (the new node is no longer empty after its first move).
const BalanceRoundKey = "balance/round"

// BalanceView is what the automatic replica balance decides from, all
// read from the metadata on each pass (nothing of a plan is kept in
// memory, so a new controller carries on where the last one stopped).
type BalanceView struct {
	// Parts are the partitions with their replicas; a partition being
	// reassigned is listed with its target and has Moving set.
	Parts []BalancePart
	// Live are the live members serving their replicas and not in
	// controlled shutdown.
	Live []int32
	// Decommissioned are the nodes an operator took out of placement.
	Decommissioned map[int32]bool
	// Round is true while a balance round is under way (BalanceRoundKey).
	Round bool
}

// BalancePart is one partition of a BalanceView.
type BalancePart struct {
	placement.Replicas
	// InSync is true when a live node leads and every replica is in the
	// ISR, but for those on decommissioned nodes.
	InSync bool
	// Moving is true while a reassignment of the partition is in
	// progress.
	Moving bool
}

// BalanceSettle tracks how long a new node has waited; the zero value has
// seen none. It is the only state the balance keeps between passes, and
// losing it (a controller failover) only delays a round.
type BalanceSettle struct {
	// key names the node set the new node was seen with: a node that
	// leaves or comes back starts the wait again.
	key   string
	since time.Time
}

// BalancePolicy bounds the automatic balance.
type BalancePolicy struct {
	// MaxMoves is how many reassignments (any, the operator's too) may be
	// in progress at once; the balance starts moves only below it.
	MaxMoves int
	// Settle is how long a live node must have held no replica, with the
	// same live nodes, before a round starts for it, so a node that joins
	// for a moment or flaps is not given replicas.
	Settle time.Duration
}

// BalanceDecision is what one pass of the automatic balance does.
type BalanceDecision struct {
	// Moves are the reassignments to start now.
	Moves []placement.Move
	// StartRound and EndRound write and delete BalanceRoundKey.
	StartRound, EndRound bool
}

// PlanBalance decides, from view at now, what the automatic balance does.
// It moves nothing while a node holding replicas is down without being
// decommissioned (a restart, not a departure) or while some partition not
// being moved is out of sync (a move must never take a partition below
// its min ISR). Otherwise it plans with placement.Balance over the live
// nodes not decommissioned, leaving out partitions being moved, and
// starts (or carries on) a round when a replica is on a decommissioned
// node (at once), when a round is under way, or when a live node holds no
// replica and has for p.Settle with the same nodes (a new node). Other
// imbalances (say, topics created unevenly) are left to `sluice cluster
// balance`. A round ends when the plan is empty. It starts as many moves
// as p.MaxMoves leaves room for, and returns the settle state for the
// next pass.
func PlanBalance(view BalanceView, prev BalanceSettle, now time.Time, p BalancePolicy) (BalanceDecision, BalanceSettle) {
	live := make(map[int32]bool, len(view.Live))
	var targets []int32
	for _, n := range view.Live {
		live[n] = true
		if !view.Decommissioned[n] {
			targets = append(targets, n)
		}
	}
	slices.Sort(targets)
	if len(targets) == 0 {
		return BalanceDecision{}, BalanceSettle{}
	}
	moving := make(map[metadata.TopicPartition]bool)
	load := make(map[int32]int, len(targets))
	leaving := false
	parts := make([]placement.Replicas, 0, len(view.Parts))
	for _, part := range view.Parts {
		if part.Moving {
			moving[metadata.TopicPartition{Topic: part.Topic, Partition: part.Partition}] = true
		} else if !part.InSync {
			return BalanceDecision{}, BalanceSettle{}
		}
		for _, n := range part.Nodes {
			if !live[n] && !view.Decommissioned[n] {
				return BalanceDecision{}, BalanceSettle{} // a node is down: wait for it
			}
			load[n]++
			leaving = leaving || view.Decommissioned[n]
		}
		parts = append(parts, part.Replicas)
	}
	empty := slices.ContainsFunc(targets, func(n int32) bool { return load[n] == 0 })
	if !leaving && !view.Round && !empty {
		// Nothing for the automatic balance: no plan to compute.
		return BalanceDecision{}, BalanceSettle{}
	}
	var moves []placement.Move
	for _, mv := range placement.Balance(parts, targets) {
		if !moving[metadata.TopicPartition{Topic: mv.Topic, Partition: mv.Partition}] {
			moves = append(moves, mv)
		}
	}
	if len(moves) == 0 {
		// Balanced: a round ends once its last moves are done.
		return BalanceDecision{EndRound: view.Round && len(moving) == 0}, BalanceSettle{}
	}
	var d BalanceDecision
	next := BalanceSettle{}
	if leaving || view.Round {
		d.StartRound = !view.Round
	} else {
		// A new node: it must stay (with the same others) for Settle.
		next = prev
		if key := fmt.Sprint(targets); next.key != key {
			next = BalanceSettle{key: key, since: now}
		}
		if now.Sub(next.since) < p.Settle {
			return BalanceDecision{}, next
		}
		d.StartRound = true
	}
	if room := p.MaxMoves - len(moving); room > 0 {
		d.Moves = moves[:min(room, len(moves))]
	}
	return d, next
}

// placementNodes are the nodes new replicas go to: the live ones
// (liveNodes) that are not decommissioned.
func (c *Controller) placementNodes(ctx context.Context) ([]int32, error) {
	nodes, err := c.liveNodes(ctx)
	if err != nil {
		return nil, err
	}
	gone, err := decommissionedNodes(ctx, c.store)
	if err != nil || len(gone) == 0 {
		return nodes, err
	}
	return slices.DeleteFunc(nodes, func(n int32) bool { return gone[n] }), nil
}
