package transport

import (
	"bytes"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// remoteBatch is a message as protoactor's endpoint writer sends it: a
// batch of envelopes, one large (a fetched batch) and one small.
func remoteBatch() *remote.RemoteMessage {
	return &remote.RemoteMessage{MessageType: &remote.RemoteMessage_MessageBatch{MessageBatch: &remote.MessageBatch{
		TypeNames: []string{"sluice.frame.FetchResponse", "sluice.v1.ProduceResponse"},
		Targets:   []string{"node/replica/orders/0"},
		Senders:   []*actor.PID{{Address: "127.0.0.1:9650", Id: "future$1"}},
		Envelopes: []*remote.MessageEnvelope{
			{TypeId: 0, MessageData: bytes.Repeat([]byte{0xab}, 3*AliasMinBytes), Target: 0, Sender: 0, SenderRequestId: 9,
				MessageHeader: &remote.MessageHeader{HeaderData: map[string]string{"k": "v"}}},
			{TypeId: 1, MessageData: []byte("small"), TargetRequestId: 4},
		},
	}}}
}

func TestUnmarshalAliasingKeepsLargeValuesInTheBuffer(t *testing.T) {
	want := remoteBatch()
	b, err := proto.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got := new(remote.RemoteMessage)
	if err := unmarshalAliasing(b, got.ProtoReflect()); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Fatalf("decoded %v, want %v", got, want)
	}
	envs := got.GetMessageBatch().GetEnvelopes()
	large, small := envs[0].MessageData, envs[1].MessageData
	if cap(large) != len(large) {
		t.Fatalf("aliased value has cap %d > len %d", cap(large), len(large))
	}
	for i := range b { // overwrite the buffer: only aliased values change
		b[i] = 0
	}
	if large[0] != 0 {
		t.Fatal("the large envelope's data was copied, not aliased")
	}
	if string(small) != "small" {
		t.Fatalf("the small envelope's data aliases the buffer: %q", small)
	}
}

func TestUnmarshalAliasingDecodesLikeProtobuf(t *testing.T) {
	batch, err := proto.Marshal(remoteBatch())
	if err != nil {
		t.Fatal(err)
	}
	connect, err := proto.Marshal(&remote.RemoteMessage{MessageType: &remote.RemoteMessage_ConnectRequest{
		ConnectRequest: &remote.ConnectRequest{}}})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":                nil,
		"batch":                batch,
		"oneof member after":   append(append([]byte{}, batch...), connect...),
		"oneof member before":  append(append([]byte{}, connect...), batch...),
		"batch twice (merged)": append(append([]byte{}, batch...), batch...),
		"unknown field":        append(append([]byte{}, batch...), 0xf8, 0x3e, 0x01),
		"truncated":            batch[:len(batch)-3],
		"bad tag":              {0x80},
		"batch as varint":      {0x08, 0x01},
	}
	for name, b := range cases {
		checkAliasingDecodesLikeProtobuf(t, name, b)
	}
}

func checkAliasingDecodesLikeProtobuf(t *testing.T, name string, b []byte) {
	want := new(remote.RemoteMessage)
	wantErr := proto.Unmarshal(b, want)
	got := new(remote.RemoteMessage)
	gotErr := unmarshalAliasing(append([]byte{}, b...), got.ProtoReflect())
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("%s: aliasing error %v, protobuf error %v", name, gotErr, wantErr)
	}
	if gotErr == nil && !proto.Equal(got, want) {
		t.Fatalf("%s: aliasing decoded %v, protobuf %v", name, got, want)
	}
}

func FuzzUnmarshalAliasing(f *testing.F) {
	b, err := proto.Marshal(remoteBatch())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{0x0a, 0x02, 0x1a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) { checkAliasingDecodesLikeProtobuf(t, "fuzz", b) })
}

// TestCodecUnmarshalsAMessageOfManyFrames feeds the codec a large message
// split the way grpc hands over one read in frame-sized buffers.
func TestCodecUnmarshalsAMessageOfManyFrames(t *testing.T) {
	want := remoteBatch()
	b, err := proto.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var data mem.BufferSlice
	for len(b) > 0 {
		n := min(len(b), 16<<10)
		data = append(data, mem.SliceBuffer(b[:n]))
		b = b[n:]
	}
	got := new(remote.RemoteMessage)
	if err := (Codec{Pool: NewPool()}).Unmarshal(data, got); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Fatalf("decoded %v, want %v", got, want)
	}
}
