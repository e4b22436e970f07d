package group

import (
	"fmt"
	"testing"

	"github.com/sluice-mq/sluice/group/assign"
	"github.com/sluice-mq/sluice/messages"
)

func (h *harness) offsetDelete(group string, topic string, partitions ...int32) *messages.OffsetDeleteResponse {
	h.t.Helper()
	return call[*messages.OffsetDeleteResponse](h, &messages.OffsetDeleteRequest{GroupId: group,
		Topics: []*messages.OffsetFetchTopic{{Name: topic, Partitions: partitions}}})
}

// partitionCodes is an OffsetDelete answer as "topic/partition:CODE".
func partitionCodes(r *messages.OffsetDeleteResponse) []string {
	var out []string
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			out = append(out, fmt.Sprintf("%s/%d:%s", t.Name, p.Partition, p.ErrorCode))
		}
	}
	return out
}

// OffsetDelete answers as Kafka: GROUP_ID_NOT_FOUND for no group,
// GROUP_SUBSCRIBED_TO_TOPIC for a topic a member consumes (every topic
// when a subscription does not decode), tombstones otherwise, which a
// restart keeps.
func TestCoordinatorOffsetDelete(t *testing.T) {
	h := newHarness(t, nil)
	h.loaded("nobody")
	if r := h.offsetDelete("nobody", "orders", 0); r.ErrorCode != messages.ErrorCode_GROUP_ID_NOT_FOUND {
		t.Fatalf("no group: %s", r.ErrorCode)
	}

	// Metadata that is no subscription: subscribed to every topic.
	id, gen := h.joinAlone("opaque", session)
	h.commit("opaque", id, gen, "other", map[int32]int64{0: 1})
	if r := h.offsetDelete("opaque", "other", 0); fmt.Sprint(partitionCodes(r)) != "[other/0:GROUP_SUBSCRIBED_TO_TOPIC]" {
		t.Fatalf("opaque subscription: %s %v", r.ErrorCode, partitionCodes(r))
	}

	h.loaded("app")
	sub := (&assign.Subscription{Topics: []string{"orders"}, Generation: -1}).Encode()
	join := func(member string) *messages.JoinGroupResponse {
		req := joinRequest("app", member, session)
		req.Protocols = []*messages.GroupProtocol{{Name: "range", Metadata: sub}}
		return call[*messages.JoinGroupResponse](h, req)
	}
	id = join("").MemberId
	jr := join(id)
	if jr.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("join: %s", jr.ErrorCode)
	}
	call[*messages.SyncGroupResponse](h, &messages.SyncGroupRequest{GroupId: "app", GenerationId: jr.GenerationId, MemberId: id,
		Assignments: []*messages.SyncGroupAssignment{{MemberId: id, Assignment: []byte{}}}})
	h.commit("app", id, jr.GenerationId, "orders", map[int32]int64{0: 5, 1: 6})
	h.commit("app", id, jr.GenerationId, "other", map[int32]int64{0: 7})

	r := h.offsetDelete("app", "other", 0, 3)
	if r.ErrorCode != messages.ErrorCode_NONE || fmt.Sprint(partitionCodes(r)) != "[other/0:NONE other/3:NONE]" {
		t.Fatalf("unsubscribed topic: %s %v", r.ErrorCode, partitionCodes(r))
	}
	r = h.offsetDelete("app", "orders", 0)
	if fmt.Sprint(partitionCodes(r)) != "[orders/0:GROUP_SUBSCRIBED_TO_TOPIC]" {
		t.Fatalf("subscribed topic: %v", partitionCodes(r))
	}
	if got, _ := h.committed("app"); fmt.Sprint(got) != "map[orders/0:5 orders/1:6]" {
		t.Fatalf("offsets %v", got)
	}

	// Empty: every offset can go.
	call[*messages.LeaveGroupResponse](h, &messages.LeaveGroupRequest{GroupId: "app", Members: []*messages.LeaveGroupMember{{MemberId: id}}})
	waitFor(t, requestTimeout, func() error {
		if d := h.describe("app"); d.GroupState != "Empty" {
			return fmt.Errorf("state %s", d.GroupState)
		}
		return nil
	})
	if r := h.offsetDelete("app", "orders", 0); fmt.Sprint(partitionCodes(r)) != "[orders/0:NONE]" {
		t.Fatalf("empty group: %v", partitionCodes(r))
	}
	h.restart()
	h.loaded("app")
	if got, _ := h.committed("app"); fmt.Sprint(got) != "map[orders/1:6]" {
		t.Fatalf("offsets after restart %v", got)
	}
}
