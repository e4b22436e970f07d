package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/group/assign"
	"github.com/sluice-mq/sluice/messages"
)

// GroupListing is one consumer group as ListGroups reports it.
type GroupListing struct {
	GroupID      string `json:"group_id"`
	ProtocolType string `json:"protocol_type,omitempty"`
	State        string `json:"state"`
	// Coordinator is the node id of the group's coordinator.
	Coordinator int32 `json:"coordinator"`
}

// ListGroups asks every broker for the groups it coordinates and returns
// them sorted by id. A broker that does not answer fails the call: the
// list would be incomplete.
func (c *Client) ListGroups(ctx context.Context) ([]GroupListing, error) {
	s, err := c.refreshMetadata(ctx)
	if err != nil {
		return nil, err
	}
	var (
		mu   sync.Mutex
		out  []GroupListing
		errs []error
		wg   sync.WaitGroup
	)
	for _, b := range s.brokers {
		wg.Go(func() {
			var res *messages.ListGroupsResponse
			err := c.retry(ctx, func(int) error {
				var err error
				res, err = call[*messages.ListGroupsResponse](ctx, c, actor.NewPID(b.Address, messages.NodeActorID),
					&messages.ListGroupsRequest{}, c.cfg.RequestTimeout)
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("list groups on node %d: %w", b.NodeID, err))
				return
			}
			for _, g := range res.GetGroups() {
				out = append(out, GroupListing{GroupID: g.GetGroupId(), ProtocolType: g.GetProtocolType(), State: g.GetGroupState(), Coordinator: b.NodeID})
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(out, func(a, b GroupListing) int { return strings.Compare(a.GroupID, b.GroupID) })
	return out, nil
}

// GroupMember is one member of a described group. Topics and Assignment
// are decoded for the consumer protocol.
type GroupMember struct {
	MemberID   string           `json:"member_id"`
	InstanceID string           `json:"instance_id,omitempty"`
	ClientID   string           `json:"client_id"`
	ClientHost string           `json:"client_host"`
	Topics     []string         `json:"topics,omitempty"`
	Assignment []TopicPartition `json:"assignment"`
}

// GroupDescription is a consumer group's state and members.
type GroupDescription struct {
	GroupID      string        `json:"group_id"`
	State        string        `json:"state"` // Kafka's names; "Dead" for a group that does not exist
	ProtocolType string        `json:"protocol_type,omitempty"`
	Protocol     string        `json:"protocol,omitempty"`
	Generation   int32         `json:"generation"`
	Leader       string        `json:"leader,omitempty"`
	Members      []GroupMember `json:"members"`
}

// DescribeGroup returns the group's state and members from its
// coordinator.
func (c *Client) DescribeGroup(ctx context.Context, group string) (GroupDescription, error) {
	res, err := groupCall(ctx, c, group, &messages.DescribeGroupsRequest{Groups: []string{group}},
		func(r *messages.DescribeGroupsResponse) error {
			if len(r.GetGroups()) != 1 {
				return fmt.Errorf("client: %d groups in the answer, want 1", len(r.GetGroups()))
			}
			g := r.GetGroups()[0]
			return messages.ErrorForCode(g.GetErrorCode(), g.GetErrorMessage())
		})
	if err != nil {
		return GroupDescription{}, fmt.Errorf("describe group %q: %w", group, err)
	}
	g := res.GetGroups()[0]
	d := GroupDescription{
		GroupID:      g.GetGroupId(),
		State:        g.GetGroupState(),
		ProtocolType: g.GetProtocolType(),
		Protocol:     g.GetProtocolData(),
		Generation:   g.GetGenerationId(),
		Leader:       g.GetLeader(),
		Members:      []GroupMember{},
	}
	for _, m := range g.GetMembers() {
		gm := GroupMember{MemberID: m.GetMemberId(), InstanceID: m.GetGroupInstanceId(), ClientID: m.GetClientId(), ClientHost: m.GetClientHost(), Assignment: []TopicPartition{}}
		if d.ProtocolType == ConsumerProtocolType {
			if s, err := assign.DecodeSubscription(m.GetMemberMetadata()); err == nil {
				gm.Topics = s.Topics
			}
			if a, err := assign.DecodeAssignment(m.GetMemberAssignment()); err == nil {
				gm.Assignment = topicPartitions(a.Partitions)
			}
		}
		d.Members = append(d.Members, gm)
	}
	return d, nil
}

// CommittedOffset is a group's committed position in one partition.
type CommittedOffset struct {
	Offset      int64     `json:"offset"`
	LeaderEpoch int32     `json:"leader_epoch"`
	Metadata    string    `json:"metadata,omitempty"`
	CommitTime  time.Time `json:"commit_time"`
}

// CommittedOffsets returns the group's committed offsets for tps, or for
// every partition it committed when tps is empty. Partitions without a
// commit are left out.
func (c *Client) CommittedOffsets(ctx context.Context, group string, tps ...TopicPartition) (map[TopicPartition]CommittedOffset, error) {
	return c.fetchCommitted(ctx, group, false, tps)
}

// fetchCommitted is CommittedOffsets; with requireStable a partition
// with offsets of an open transaction fails with the retriable
// messages.ErrUnstableOffsetCommit instead of returning the offset
// committed before (KIP-447).
func (c *Client) fetchCommitted(ctx context.Context, group string, requireStable bool, tps []TopicPartition) (map[TopicPartition]CommittedOffset, error) {
	req := offsetFetchRequest(group, tps)
	req.RequireStable = requireStable
	var check func(*messages.OffsetFetchResponse) error
	if requireStable {
		// Retried like any retriable error: the transaction's marker is
		// usually milliseconds away.
		check = func(r *messages.OffsetFetchResponse) error {
			for _, t := range r.GetTopics() {
				for _, p := range t.GetPartitions() {
					if p.GetErrorCode() == messages.ErrorCode_UNSTABLE_OFFSET_COMMIT {
						return fmt.Errorf("%s/%d: %w", t.GetName(), p.GetPartition(), messages.ErrUnstableOffsetCommit)
					}
				}
			}
			return nil
		}
	}
	res, err := groupCall[*messages.OffsetFetchResponse](ctx, c, group, req, check)
	if err != nil {
		return nil, fmt.Errorf("committed offsets of group %q: %w", group, err)
	}
	return committedOffsets(res)
}

func offsetFetchRequest(group string, tps []TopicPartition) *messages.OffsetFetchRequest {
	req := &messages.OffsetFetchRequest{GroupId: group}
	byTopic := map[string]*messages.OffsetFetchTopic{}
	for _, tp := range tps {
		t := byTopic[tp.Topic]
		if t == nil {
			t = &messages.OffsetFetchTopic{Name: tp.Topic}
			byTopic[tp.Topic] = t
			req.Topics = append(req.Topics, t)
		}
		t.Partitions = append(t.Partitions, tp.Partition)
	}
	return req
}

func committedOffsets(res *messages.OffsetFetchResponse) (map[TopicPartition]CommittedOffset, error) {
	out := make(map[TopicPartition]CommittedOffset)
	for _, t := range res.GetTopics() {
		for _, p := range t.GetPartitions() {
			if err := messages.ErrorForCode(p.GetErrorCode(), ""); err != nil {
				return nil, fmt.Errorf("%s/%d: %w", t.GetName(), p.GetPartition(), err)
			}
			if p.GetCommittedOffset() < 0 {
				continue
			}
			out[TopicPartition{Topic: t.GetName(), Partition: p.GetPartition()}] = CommittedOffset{
				Offset:      p.GetCommittedOffset(),
				LeaderEpoch: p.GetCommittedLeaderEpoch(),
				Metadata:    p.GetMetadata(),
				CommitTime:  time.UnixMilli(p.GetCommitTimestamp()),
			}
		}
	}
	return out, nil
}

// CommitGroupOffsets stores offsets for group from outside the group
// protocol (generation -1, no member), as admin tools do; the coordinator
// accepts it while the group has no members.
func (c *Client) CommitGroupOffsets(ctx context.Context, group string, offsets map[TopicPartition]int64) error {
	req := offsetCommitRequest(group, "", "", -1, offsets)
	_, err := groupCall(ctx, c, group, req, checkCommit)
	if err != nil {
		return fmt.Errorf("commit offsets of group %q: %w", group, err)
	}
	return nil
}

// withLeaderEpochs sets the committed leader epoch of req's partitions
// found in epochs (Kafka's KIP-320: a member resuming from the offset
// validates it against the leader's log); the others stay -1.
func withLeaderEpochs(req *messages.OffsetCommitRequest, epochs map[TopicPartition]int32) *messages.OffsetCommitRequest {
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			if e, ok := epochs[TopicPartition{Topic: t.Name, Partition: p.Partition}]; ok {
				p.CommittedLeaderEpoch = e
			}
		}
	}
	return req
}

func offsetCommitRequest(group, member, instance string, generation int32, offsets map[TopicPartition]int64) *messages.OffsetCommitRequest {
	req := &messages.OffsetCommitRequest{GroupId: group, MemberId: member, GroupInstanceId: instance, GenerationId: generation}
	byTopic := map[string]*messages.OffsetCommitTopic{}
	tps := make([]TopicPartition, 0, len(offsets))
	for tp := range offsets {
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, compareTopicPartition)
	for _, tp := range tps {
		t := byTopic[tp.Topic]
		if t == nil {
			t = &messages.OffsetCommitTopic{Name: tp.Topic}
			byTopic[tp.Topic] = t
			req.Topics = append(req.Topics, t)
		}
		t.Partitions = append(t.Partitions, &messages.OffsetCommitPartition{Partition: tp.Partition, CommittedOffset: offsets[tp], CommittedLeaderEpoch: -1})
	}
	return req
}

// checkCommit returns the first partition error of a commit.
func checkCommit(r *messages.OffsetCommitResponse) error {
	for _, t := range r.GetTopics() {
		for _, p := range t.GetPartitions() {
			if err := messages.ErrorForCode(p.GetErrorCode(), fmt.Sprintf("%s/%d", t.GetName(), p.GetPartition())); err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteGroup deletes a group without members and its committed offsets.
// A group with members is NON_EMPTY_GROUP; an unknown one
// GROUP_ID_NOT_FOUND.
func (c *Client) DeleteGroup(ctx context.Context, group string) error {
	_, err := groupCall(ctx, c, group, &messages.DeleteGroupsRequest{Groups: []string{group}},
		func(r *messages.DeleteGroupsResponse) error {
			if len(r.GetResults()) != 1 {
				return fmt.Errorf("client: %d results in the answer, want 1", len(r.GetResults()))
			}
			res := r.GetResults()[0]
			return messages.ErrorForCode(res.GetErrorCode(), res.GetErrorMessage())
		})
	if err != nil {
		return fmt.Errorf("delete group %q: %w", group, err)
	}
	return nil
}

func topicPartitions(tps []assign.TopicPartitions) []TopicPartition {
	out := []TopicPartition{}
	for _, t := range tps {
		for _, p := range t.Partitions {
			out = append(out, TopicPartition{Topic: t.Topic, Partition: p})
		}
	}
	slices.SortFunc(out, compareTopicPartition)
	return out
}

func compareTopicPartition(a, b TopicPartition) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return int(a.Partition - b.Partition)
}
