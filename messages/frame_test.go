package messages_test

import (
	"bytes"
	"testing"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/sluice-mq/sluice/messages"
)

// batchMessages are the framed messages, each with its batch bytes set.
func batchMessages() []proto.Message {
	records := bytes.Repeat([]byte("batch-bytes-"), 1000)
	return []proto.Message{
		&messages.ProduceRequest{Topic: "orders", Partition: 3, Acks: -1, TimeoutMs: 5000, Records: records, LeaderEpoch: 7},
		&messages.FetchResponse{HighWatermark: 90, LogStartOffset: 2, Records: records, LeaderEpoch: 4, LastStableOffset: 80,
			AbortedTransactions: []*messages.AbortedTransaction{{ProducerId: 11, FirstOffset: 12}}},
		&messages.ReplicateRequest{Topic: "orders", Partition: 1, LeaderEpoch: 2, LeaderId: 3, BaseOffset: 40, EndOffset: 52,
			Records: records, LeaderHw: 39},
	}
}

// decodeAsRemote decodes b the way protoactor's endpoint reader does: by
// the type name the writer sent, then from the wire form to the message.
func decodeAsRemote(t *testing.T, typeName string, b []byte) proto.Message {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(typeName))
	if err != nil {
		t.Fatalf("type %s: %v", typeName, err)
	}
	wire := mt.New().Interface()
	if err := proto.Unmarshal(b, wire); err != nil {
		t.Fatalf("unmarshal %s: %v", typeName, err)
	}
	msg, err := wire.(remote.RootSerialized).Deserialize()
	if err != nil {
		t.Fatalf("deserialize %s: %v", typeName, err)
	}
	return msg.(proto.Message)
}

func TestFrameWireIsTheMessageEncodingAndDecodingAliasesBatches(t *testing.T) {
	for _, msg := range batchMessages() {
		name := proto.MessageName(msg).Name()
		wire, err := msg.(remote.RootSerializable).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		framed, err := proto.Marshal(wire.(proto.Message))
		if err != nil {
			t.Fatalf("%s: marshal frame: %v", name, err)
		}
		plain, err := proto.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(framed, plain) {
			t.Fatalf("%s: the frame's encoding differs from the message's", name)
		}
		typeName := string(proto.MessageName(wire.(proto.Message)))
		if typeName != "sluice.frame."+string(name) {
			t.Fatalf("frame type name %q", typeName)
		}
		got := decodeAsRemote(t, typeName, framed)
		if !proto.Equal(got, msg) {
			t.Fatalf("%s: decoded %v, want %v", name, got, msg)
		}
		records := got.ProtoReflect().Get(got.ProtoReflect().Descriptor().Fields().ByName("records")).Bytes()
		if cap(records) != len(records) {
			t.Fatalf("%s: records cap %d > len %d: an append would overwrite the fields after them", name, cap(records), len(records))
		}
		// The records alias the received buffer: no copy was made.
		at := bytes.Index(framed, records)
		framed[at] ^= 0xff
		if records[0] == msg.ProtoReflect().Get(msg.ProtoReflect().Descriptor().Fields().ByName("records")).Bytes()[0] {
			t.Fatalf("%s: decoded records are a copy of the buffer", name)
		}
	}
}

func TestFrameDecodesLikeProtobuf(t *testing.T) {
	plain, err := proto.Marshal(&messages.FetchResponse{HighWatermark: 5, Records: []byte("first")})
	if err != nil {
		t.Fatal(err)
	}
	second, err := proto.Marshal(&messages.FetchResponse{Records: []byte("second"), LeaderEpoch: 9})
	if err != nil {
		t.Fatal(err)
	}
	unknown := []byte{0xf8, 0x3e, 0x01} // field 999, varint 1
	cases := map[string][]byte{
		"empty":             nil,
		"records twice":     append(append([]byte{}, plain...), second...),
		"unknown field":     append(append([]byte{}, plain...), unknown...),
		"records truncated": plain[:len(plain)-2],
		"bad tag":           {0x80},
		"records as varint": {0x28, 0x01},
	}
	for name, b := range cases {
		checkFrameDecodesLikeProtobuf(t, name, b)
	}
}

func checkFrameDecodesLikeProtobuf(t *testing.T, name string, b []byte) {
	want := new(messages.FetchResponse)
	wantErr := proto.Unmarshal(b, want)
	mt, err := protoregistry.GlobalTypes.FindMessageByName("sluice.frame.FetchResponse")
	if err != nil {
		t.Fatal(err)
	}
	wire := mt.New().Interface()
	gotErr := proto.Unmarshal(append([]byte{}, b...), wire)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("%s: frame error %v, protobuf error %v", name, gotErr, wantErr)
	}
	if gotErr != nil {
		return
	}
	got, err := wire.(remote.RootSerialized).Deserialize()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !proto.Equal(got.(proto.Message), want) {
		t.Fatalf("%s: frame decoded %v, protobuf %v", name, got, want)
	}
}

func FuzzFrameDecode(f *testing.F) {
	for _, msg := range batchMessages() {
		b, err := proto.Marshal(msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0x2a, 0x80, 0x80, 0x04})
	f.Fuzz(func(t *testing.T, b []byte) { checkFrameDecodesLikeProtobuf(t, "fuzz", b) })
}
