package handler

import (
	"context"
	"log/slog"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/messages"
)

// fakeGuardian answers ElectLeadersRequest: partition 0 elected, 1 not
// needed, 2 no preferred leader; it records what it was asked.
func fakeGuardian(t *testing.T, asked chan<- *messages.ElectLeadersRequest) *Handler {
	t.Helper()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	pid := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		req, ok := ctx.Message().(*messages.ElectLeadersRequest)
		if !ok {
			return
		}
		asked <- req
		resp := &messages.ElectLeadersResponse{}
		codes := []messages.ErrorCode{messages.ErrorCode_NONE, messages.ErrorCode_ELECTION_NOT_NEEDED, messages.ErrorCode_PREFERRED_LEADER_NOT_AVAILABLE}
		for _, topic := range req.Topics {
			for _, p := range topic.Partitions {
				resp.Results = append(resp.Results, &messages.ElectLeadersResult{Topic: topic.Topic, Partition: p, ErrorCode: codes[p%3], ErrorMessage: "why"})
			}
		}
		ctx.Respond(resp)
	}))
	t.Cleanup(func() { system.Root.Stop(pid) })
	return New(Config{Root: system.Root, Guardian: pid})
}

func TestElectLeadersMapping(t *testing.T) {
	asked := make(chan *messages.ElectLeadersRequest, 4)
	h := fakeGuardian(t, asked)
	req := kmsg.NewPtrElectLeadersRequest()
	req.Version, req.ElectionType = 1, 1
	topic := kmsg.NewElectLeadersRequestTopic()
	topic.Topic, topic.Partitions = "t", []int32{0, 1, 2}
	empty := kmsg.NewElectLeadersRequestTopic()
	empty.Topic = "none"
	req.Topics = []kmsg.ElectLeadersRequestTopic{topic, empty}
	resp := h.electLeaders(context.Background(), req).(*kmsg.ElectLeadersResponse)
	got := <-asked
	if got.ElectionType != messages.ElectionType_UNCLEAN || len(got.Topics) != 1 || got.Topics[0].Topic != "t" {
		t.Fatalf("asked %v", got)
	}
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 3 {
		t.Fatalf("response %+v", resp)
	}
	for i, want := range []int16{0, 84, 80} {
		p := resp.Topics[0].Partitions[i]
		if p.Partition != int32(i) || p.ErrorCode != want || (want == 0) != (p.ErrorMessage == nil) {
			t.Errorf("partition %d: code %d message %v, want code %d", p.Partition, p.ErrorCode, p.ErrorMessage, want)
		}
	}

	// Null topics: every partition (no topics in the request).
	req.Topics = nil
	h.electLeaders(context.Background(), req)
	if got := <-asked; len(got.Topics) != 0 {
		t.Fatalf("null topics asked %v", got.Topics)
	}
	// An empty list names nothing: nothing is asked.
	req.Topics = []kmsg.ElectLeadersRequestTopic{}
	if resp := h.electLeaders(context.Background(), req).(*kmsg.ElectLeadersResponse); len(resp.Topics) != 0 || len(asked) != 0 {
		t.Fatalf("empty topic list answered %+v", resp)
	}
	// An unknown election type.
	req.ElectionType = 2
	if resp := h.electLeaders(context.Background(), req).(*kmsg.ElectLeadersResponse); resp.ErrorCode != errInvalidRequest {
		t.Fatalf("election type 2: code %d", resp.ErrorCode)
	}
}
