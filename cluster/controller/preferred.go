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

// DefaultImbalancePercent is Kafka's leader.imbalance.per.broker.percentage:
// BalanceLeaders moves a node's leaderships back to it once more than this
// share of the partitions it is preferred for are led by others.
const DefaultImbalancePercent = 10

// electionOutcome is what a requested election decided for one partition:
// the next state to write, or why there is none.
type electionOutcome struct {
	next    metadata.PartitionState
	code    messages.ErrorCode
	message string
}

// electPreferred moves leadership to the preferred replica (the first of
// the assignment) when it is live, not shutting down, in the ISR and not
// already leading. The ISR is kept; the epoch is bumped, so the old
// leader is fenced exactly as in any other election.
func electPreferred(replicas []int32, state metadata.PartitionState, nodes nodeSet) electionOutcome {
	if len(replicas) == 0 {
		return electionOutcome{code: messages.ErrorCode_PREFERRED_LEADER_NOT_AVAILABLE, message: "the partition has no replicas"}
	}
	p := replicas[0]
	fail := func(format string, args ...any) electionOutcome {
		return electionOutcome{code: messages.ErrorCode_PREFERRED_LEADER_NOT_AVAILABLE, message: fmt.Sprintf(format, args...)}
	}
	switch {
	case state.Leader == p:
		return electionOutcome{code: messages.ErrorCode_ELECTION_NOT_NEEDED, message: fmt.Sprintf("preferred replica %d already leads", p)}
	case !nodes.live[p]:
		return fail("preferred replica %d is not a live member", p)
	case nodes.leaving[p]:
		return fail("preferred replica %d is shutting down", p)
	case !slices.Contains(state.ISR, p):
		return fail("preferred replica %d is not in the ISR %v", p, state.ISR)
	}
	return electionOutcome{next: metadata.PartitionState{Leader: p, LeaderEpoch: state.LeaderEpoch + 1, ISR: slices.Clone(state.ISR)}}
}

// electUnclean is Kafka's unclean ElectLeaders: a partition with no live
// leader gets a leader from its live ISR members if it has any, else the
// first live replica (ISR: just it; records only the lost ISR had are
// gone). The operator asks for it, so the topic's
// unclean.leader.election.enable does not matter.
func electUnclean(replicas []int32, state metadata.PartitionState, nodes nodeSet) electionOutcome {
	if state.Leader >= 0 && nodes.live[state.Leader] {
		return electionOutcome{code: messages.ErrorCode_ELECTION_NOT_NEEDED, message: fmt.Sprintf("node %d leads", state.Leader)}
	}
	next, change := electLeader(replicas, state, nodes, true)
	if !change || next.Leader < 0 {
		return electionOutcome{code: messages.ErrorCode_ELIGIBLE_LEADERS_NOT_AVAILABLE, message: "no replica of the partition is a live member"}
	}
	return electionOutcome{next: next}
}

// Elect runs the election req asks for on each named partition (every
// partition when it names no topic) and answers per partition.
// Partitions being reassigned are left to the reassignment
// (REASSIGNMENT_IN_PROGRESS).
func (c *Controller) Elect(ctx context.Context, req *messages.ElectLeadersRequest) *messages.ElectLeadersResponse {
	pick := electPreferred
	switch req.GetElectionType() {
	case messages.ElectionType_PREFERRED:
	case messages.ElectionType_UNCLEAN:
		pick = electUnclean
	default:
		return &messages.ElectLeadersResponse{ErrorCode: messages.ErrorCode_INVALID_REQUEST,
			ErrorMessage: fmt.Sprintf("unknown election type %d", req.GetElectionType())}
	}
	nodes, _, err := c.servingNodes(ctx)
	if err != nil {
		return &messages.ElectLeadersResponse{ErrorCode: codeOf(err), ErrorMessage: errorMessage(err)}
	}
	snap, err := metadata.Load(ctx, c.store)
	if err != nil {
		return &messages.ElectLeadersResponse{ErrorCode: codeOf(err), ErrorMessage: errorMessage(err)}
	}
	moving, err := c.movingPartitions(ctx, snap)
	if err != nil {
		return &messages.ElectLeadersResponse{ErrorCode: codeOf(err), ErrorMessage: errorMessage(err)}
	}
	resp := &messages.ElectLeadersResponse{}
	for _, tp := range requestedPartitions(snap, req) {
		res := &messages.ElectLeadersResult{Topic: tp.Topic, Partition: tp.Partition, Leader: -1}
		topic, ok := snap.Topics[tp.Topic]
		state, hasState := snap.States[tp]
		switch {
		case !ok || tp.Partition < 0 || int(tp.Partition) >= topic.Partitions():
			res.ErrorCode, res.ErrorMessage = messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, fmt.Sprintf("partition %s does not exist", tp)
		case !hasState:
			res.ErrorCode, res.ErrorMessage = messages.ErrorCode_LEADER_NOT_AVAILABLE, fmt.Sprintf("partition %s is being created", tp)
		case moving[tp]:
			res.ErrorCode, res.ErrorMessage, res.Leader = messages.ErrorCode_REASSIGNMENT_IN_PROGRESS, fmt.Sprintf("partition %s is being reassigned", tp), state.Leader
		default:
			out, leader, err := c.casElection(ctx, tp, state, func(s metadata.PartitionState) electionOutcome {
				return pick(topic.Replicas[tp.Partition], s, nodes)
			})
			res.Leader = leader
			if err != nil {
				res.ErrorCode, res.ErrorMessage = codeOf(err), errorMessage(err)
			} else {
				res.ErrorCode, res.ErrorMessage = out.code, out.message
				if out.code == messages.ErrorCode_NONE && req.GetElectionType() == messages.ElectionType_PREFERRED {
					c.stats.Preferred.Add(1)
				}
			}
		}
		resp.Results = append(resp.Results, res)
	}
	return resp
}

// requestedPartitions lists the partitions req names, in its order; no
// topics means every partition, sorted. A topic with no partitions listed
// means all of its partitions (one unknown-partition entry if it does
// not exist).
func requestedPartitions(snap metadata.Snapshot, req *messages.ElectLeadersRequest) []metadata.TopicPartition {
	var out []metadata.TopicPartition
	all := func(name string) {
		t, ok := snap.Topics[name]
		if !ok {
			out = append(out, metadata.TopicPartition{Topic: name, Partition: 0})
			return
		}
		for p := range t.Partitions() {
			out = append(out, metadata.TopicPartition{Topic: name, Partition: int32(p)})
		}
	}
	if len(req.GetTopics()) == 0 {
		for _, name := range snap.TopicNames() {
			all(name)
		}
		return out
	}
	for _, t := range req.GetTopics() {
		if len(t.GetPartitions()) == 0 {
			all(t.GetTopic())
			continue
		}
		for _, p := range t.GetPartitions() {
			out = append(out, metadata.TopicPartition{Topic: t.GetTopic(), Partition: p})
		}
	}
	return out
}

// casElection writes the state pick computes from the partition's
// current one, re-reading and recomputing after a lost race. It returns
// the outcome, and the leader the partition has afterwards.
func (c *Controller) casElection(ctx context.Context, tp metadata.TopicPartition, state metadata.PartitionState, pick func(metadata.PartitionState) electionOutcome) (electionOutcome, int32, error) {
	var out electionOutcome
	leader := state.Leader
	err := c.retry(ctx, func() error {
		out = pick(state)
		if out.code != messages.ErrorCode_NONE {
			leader = state.Leader
			return nil
		}
		_, err := metadata.CASPartitionState(ctx, c.store, tp.Topic, tp.Partition, out.next, state.Version)
		if errors.Is(err, cluster.ErrVersionMismatch) {
			fresh, gerr := metadata.GetPartitionState(ctx, c.store, tp.Topic, tp.Partition)
			if gerr != nil {
				return gerr
			}
			state = fresh
			return err
		}
		if err == nil {
			c.stats.countChange(state, out.next)
			leader = out.next.Leader
		}
		return err
	})
	if err != nil {
		return out, leader, fmt.Errorf("controller: elect leader of %s: %w", tp, err)
	}
	return out, leader, nil
}

// movingPartitions is the set of partitions with a reassignment in
// progress for their topic as it is now.
func (c *Controller) movingPartitions(ctx context.Context, snap metadata.Snapshot) (map[metadata.TopicPartition]bool, error) {
	recs, err := listReassignments(ctx, c.store, ReassignmentsPrefix)
	if err != nil {
		return nil, err
	}
	out := make(map[metadata.TopicPartition]bool, len(recs))
	for _, r := range recs {
		if t, ok := snap.Topics[r.tp.Topic]; ok && t.ID == r.TopicID {
			out[r.tp] = true
		}
	}
	return out, nil
}

// BalanceLeaders is Kafka's automatic leader rebalance
// (auto.leader.rebalance.enable): for every node that can lead, it counts
// the partitions whose preferred replica (first of the assignment) it is
// and how many of them another node leads; when that share is above
// imbalancePercent, it moves each of those partitions whose preferred
// replica is in the ISR back to it (electPreferred). A node in controlled
// shutdown gets nothing back, and partitions being reassigned are left
// alone. It returns the partitions it moved.
func (c *Controller) BalanceLeaders(ctx context.Context, imbalancePercent int) ([]metadata.TopicPartition, error) {
	nodes, members, err := c.servingNodes(ctx)
	if err != nil || members == 0 {
		return nil, err
	}
	snap, err := metadata.Load(ctx, c.store)
	if err != nil {
		return nil, err
	}
	moving, err := c.movingPartitions(ctx, snap)
	if err != nil {
		return nil, err
	}
	type tally struct {
		preferred, others int
		movable           []metadata.TopicPartition
	}
	byNode := make(map[int32]*tally)
	for _, name := range snap.TopicNames() {
		topic := snap.Topics[name]
		for p, replicas := range topic.Replicas {
			tp := metadata.TopicPartition{Topic: name, Partition: int32(p)}
			state, ok := snap.States[tp]
			if !ok || len(replicas) == 0 || moving[tp] {
				continue
			}
			n := replicas[0]
			t := byNode[n]
			if t == nil {
				t = &tally{}
				byNode[n] = t
			}
			t.preferred++
			if state.Leader != n {
				t.others++
				if electPreferred(replicas, state, nodes).code == messages.ErrorCode_NONE {
					t.movable = append(t.movable, tp)
				}
			}
		}
	}
	var moved []metadata.TopicPartition
	var errs []error
	for _, n := range nodes.sorted() {
		t := byNode[n]
		if t == nil || !nodes.canLead(n) || len(t.movable) == 0 || t.others*100 <= imbalancePercent*t.preferred {
			continue
		}
		for _, tp := range t.movable {
			replicas := snap.Topics[tp.Topic].Replicas[tp.Partition]
			out, _, err := c.casElection(ctx, tp, snap.States[tp], func(s metadata.PartitionState) electionOutcome {
				return electPreferred(replicas, s, nodes)
			})
			switch {
			case err != nil:
				errs = append(errs, err)
			case out.code == messages.ErrorCode_NONE:
				c.stats.Preferred.Add(1)
				moved = append(moved, tp)
			}
		}
	}
	return moved, errors.Join(errs...)
}
