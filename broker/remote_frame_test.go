package broker_test

import (
	"bytes"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"

	"github.com/sluice-mq/sluice/broker"
	"github.com/sluice-mq/sluice/messages"
)

// TestBatchMessagesCrossTheRemote sends each message that carries record
// batches (framed by package messages so the receiver does not copy the
// batches) between two actor systems over protoactor's remote with the
// broker's remote options, and gets it back.
func TestBatchMessagesCrossTheRemote(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := func() *actor.ActorSystem {
		system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
		r := remote.NewRemote(system, remote.Configure("127.0.0.1", 0, broker.RemoteOptions(broker.DefaultConfig().Remote)...))
		r.Start()
		// Not graceful: protoactor's graceful stop can panic when the
		// other remote's connection ends at the same moment (see
		// Server.stopRemote); the remotes' shutdown is not under test.
		t.Cleanup(func() {
			r.Shutdown(false)
			system.Shutdown()
		})
		return system
	}
	server, client := start(), start()
	got := make(chan proto.Message, 1)
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(proto.Message); ok {
			got <- m
			ctx.Respond(m) // the answer crosses back framed too
		}
	})
	pid, err := server.Root.SpawnNamed(props, "echo")
	if err != nil {
		t.Fatal(err)
	}
	target := actor.NewPID(server.Address(), pid.Id)
	records := bytes.Repeat([]byte("batch-bytes-"), 100_000) // over one gRPC frame
	for _, msg := range []proto.Message{
		&messages.ProduceRequest{Topic: "orders", Partition: 3, Acks: -1, Records: records, LeaderEpoch: 7},
		&messages.FetchResponse{HighWatermark: 90, Records: records, LastStableOffset: 80,
			AbortedTransactions: []*messages.AbortedTransaction{{ProducerId: 11, FirstOffset: 12}}},
		&messages.ReplicateRequest{Topic: "orders", Partition: 1, BaseOffset: 40, EndOffset: 52, Records: records},
		&messages.FetchResponse{HighWatermark: 3}, // no batches
	} {
		res, err := client.Root.RequestFuture(target, msg, 10*time.Second).Result()
		if err != nil {
			t.Fatalf("%s: %v", proto.MessageName(msg), err)
		}
		if m := <-got; !proto.Equal(m, msg) {
			t.Fatalf("%s: the server received another message", proto.MessageName(msg))
		}
		if !proto.Equal(res.(proto.Message), msg) {
			t.Fatalf("%s: the client received another message", proto.MessageName(msg))
		}
	}
}
