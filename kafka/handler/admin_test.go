package handler

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/kafka/wire"
	"github.com/sluice-mq/sluice/messages"
)

// fakeNode answers the handler's requests with answer(msg) in place of the
// node guardian.
func fakeNode(t *testing.T, answer func(msg any) any) *Handler {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
	pid := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(actor.SystemMessage); ok {
			return
		}
		switch ctx.Message().(type) {
		case *actor.Started, *actor.Stopping, *actor.Stopped:
			return
		}
		if r := answer(ctx.Message()); r != nil {
			ctx.Respond(r)
		}
	}))
	t.Cleanup(func() { _ = system.Root.PoisonFuture(pid).Wait() })
	return New(Config{Root: system.Root, Guardian: pid, NodeID: 1, Logger: quiet})
}

func TestDeleteRecordsCodes(t *testing.T) {
	h := fakeNode(t, func(msg any) any {
		m, ok := msg.(*messages.DeleteRecordsRequest)
		if !ok {
			return nil
		}
		switch {
		case m.Topic == "gone":
			return &messages.DeleteRecordsResponse{ErrorCode: messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION, LowWatermark: -1}
		case m.Offset > 10:
			return &messages.DeleteRecordsResponse{ErrorCode: messages.ErrorCode_OFFSET_OUT_OF_RANGE, LowWatermark: 2}
		default:
			return &messages.DeleteRecordsResponse{LowWatermark: max(m.Offset, 10)}
		}
	})
	r := kmsg.NewPtrDeleteRecordsRequest()
	r.TimeoutMillis = 1000
	for _, topic := range []string{"a", "gone"} {
		rt := kmsg.NewDeleteRecordsRequestTopic()
		rt.Topic = topic
		for p, off := range []int64{5, 11, -1} {
			rp := kmsg.NewDeleteRecordsRequestTopicPartition()
			rp.Partition, rp.Offset = int32(p), off
			rt.Partitions = append(rt.Partitions, rp)
		}
		r.Topics = append(r.Topics, rt)
	}
	resp := h.deleteRecords(context.Background(), r).(*kmsg.DeleteRecordsResponse)
	var got []string
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			got = append(got, fmt.Sprintf("%s/%d:%d@%d", t.Topic, p.Partition, p.ErrorCode, p.LowWatermark))
		}
	}
	if want := "[a/0:0@10 a/1:1@2 a/2:0@10 gone/0:3@-1 gone/1:3@-1 gone/2:3@-1]"; fmt.Sprint(got) != want {
		t.Fatalf("got %v, want %s", got, want)
	}
}

func TestOffsetDeleteCodes(t *testing.T) {
	groupErr := messages.ErrorCode_NONE
	h := fakeNode(t, func(msg any) any {
		switch m := msg.(type) {
		case *messages.MetadataRequest:
			return &messages.MetadataResponse{Topics: []*messages.TopicMetadata{
				{Name: "a", Partitions: []*messages.PartitionMetadata{{Partition: 0}, {Partition: 1}}},
				{Name: "b", ErrorCode: messages.ErrorCode_UNKNOWN_TOPIC_OR_PARTITION},
			}}
		case *messages.OffsetDeleteRequest:
			if groupErr != messages.ErrorCode_NONE {
				return &messages.OffsetDeleteResponse{ErrorCode: groupErr}
			}
			resp := &messages.OffsetDeleteResponse{}
			for _, t := range m.Topics {
				rt := &messages.OffsetDeleteTopicResponse{Name: t.Name}
				for _, p := range t.Partitions {
					c := messages.ErrorCode_NONE
					if p == 1 {
						c = messages.ErrorCode_GROUP_SUBSCRIBED_TO_TOPIC
					}
					rt.Partitions = append(rt.Partitions, &messages.OffsetDeletePartition{Partition: p, ErrorCode: c})
				}
				resp.Topics = append(resp.Topics, rt)
			}
			return resp
		}
		return nil
	})
	r := kmsg.NewPtrOffsetDeleteRequest()
	r.Group = "g"
	for _, topic := range []string{"a", "b"} {
		rt := kmsg.NewOffsetDeleteRequestTopic()
		rt.Topic = topic
		for _, p := range []int32{0, 1, 7} {
			rp := kmsg.NewOffsetDeleteRequestTopicPartition()
			rp.Partition = p
			rt.Partitions = append(rt.Partitions, rp)
		}
		r.Topics = append(r.Topics, rt)
	}
	codes := func(resp *kmsg.OffsetDeleteResponse) string {
		out := fmt.Sprint(resp.ErrorCode)
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				out += fmt.Sprintf(" %s/%d:%d", t.Topic, p.Partition, p.ErrorCode)
			}
		}
		return out
	}
	if got, want := codes(h.offsetDelete(context.Background(), r).(*kmsg.OffsetDeleteResponse)), "0 a/0:0 a/1:86 a/7:3 b/0:3 b/1:3 b/7:3"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	groupErr = messages.ErrorCode_GROUP_ID_NOT_FOUND
	if got := codes(h.offsetDelete(context.Background(), r).(*kmsg.OffsetDeleteResponse)); got != "69" {
		t.Fatalf("group error: got %s, want 69 alone", got)
	}
}

func TestDescribeLogDirsFilterAndOffline(t *testing.T) {
	offline := false
	h := fakeNode(t, func(msg any) any {
		if _, ok := msg.(*messages.LogDirsRequest); !ok {
			return nil
		}
		if offline {
			return &messages.LogDirsResponse{Dirs: []*messages.LogDir{{Path: t.TempDir(), ErrorCode: messages.ErrorCode_KAFKA_STORAGE_ERROR}}}
		}
		return &messages.LogDirsResponse{Dirs: []*messages.LogDir{{Path: t.TempDir(), Partitions: []*messages.LogDirPartition{
			{Topic: "a", Partition: 0, SizeBytes: 10}, {Topic: "a", Partition: 1, SizeBytes: 11}, {Topic: "b", Partition: 0, SizeBytes: 12},
		}}}}
	})
	describe := func(version int16, topics map[string][]int32) string {
		r := kmsg.NewPtrDescribeLogDirsRequest()
		r.Version = version
		if topics != nil {
			r.Topics = []kmsg.DescribeLogDirsRequestTopic{}
		}
		for name, ps := range topics {
			rt := kmsg.NewDescribeLogDirsRequestTopic()
			rt.Topic, rt.Partitions = name, ps
			r.Topics = append(r.Topics, rt)
		}
		resp := h.describeLogDirs(context.Background(), r).(*kmsg.DescribeLogDirsResponse)
		out := ""
		for _, d := range resp.Dirs {
			out += fmt.Sprintf("dir:%d", d.ErrorCode)
			if version >= 4 && d.ErrorCode == 0 && (d.TotalBytes <= 0 || d.UsableBytes < 0) {
				out += " no-volume-bytes"
			}
			for _, t := range d.Topics {
				for _, p := range t.Partitions {
					out += fmt.Sprintf(" %s/%d:%d", t.Topic, p.Partition, p.Size)
				}
			}
		}
		return out
	}
	if got, want := describe(4, nil), "dir:0 a/0:10 a/1:11 b/0:12"; got != want {
		t.Errorf("all: %s, want %s", got, want)
	}
	if got, want := describe(1, map[string][]int32{"a": {1}, "c": {0}}), "dir:0 a/1:11"; got != want {
		t.Errorf("filtered: %s, want %s", got, want)
	}
	offline = true
	if got, want := describe(4, nil), "dir:56"; got != want {
		t.Errorf("offline: %s, want %s", got, want)
	}
}

func TestMetricsErrorLabel(t *testing.T) {
	ok := kmsg.NewPtrProduceResponse()
	rt := kmsg.NewProduceResponseTopic()
	rt.Partitions = append(rt.Partitions, kmsg.NewProduceResponseTopicPartition(), kmsg.NewProduceResponseTopicPartition())
	ok.Topics = append(ok.Topics, rt)
	if got := errorLabel(ok); got != "NONE" {
		t.Errorf("no error: %s", got)
	}
	ok.Topics[0].Partitions[1].ErrorCode = 6
	if got := errorLabel(ok); got != "NOT_LEADER_OR_FOLLOWER" {
		t.Errorf("partition error: %s", got)
	}
	top := kmsg.NewPtrOffsetDeleteResponse()
	top.ErrorCode = 69
	if got := errorLabel(top); got != "GROUP_ID_NOT_FOUND" {
		t.Errorf("top-level error: %s", got)
	}
	if got := errorLabel(nil); got != "NONE" {
		t.Errorf("acks=0: %s", got)
	}
	fetch := kmsg.NewPtrFetchResponse()
	ft := kmsg.NewFetchResponseTopic()
	fp := kmsg.NewFetchResponseTopicPartition()
	fp.ErrorCode = 1
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	if got := errorLabel(&wire.FileFetch{FetchResponse: fetch}); got != "OFFSET_OUT_OF_RANGE" {
		t.Errorf("zero-copy fetch: %s", got)
	}
}
