package messages

import (
	"fmt"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/runtime/protoiface"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Record batches cross protoactor's remote inside their message's protobuf
// encoding, and protobuf's Unmarshal copies every bytes field out of the
// buffer it decodes: a batch would be copied once more after gRPC and the
// remote's envelope have each copied it. The three messages that carry
// batches (ProduceRequest, FetchResponse, ReplicateRequest) therefore
// travel as a frame: the message's own encoding on the wire, under a type
// name of its own ("sluice.frame.<Message>"), decoded with the batch field
// aliasing the received buffer instead of copying it.
//
// Aliasing is safe because the remote hands every envelope's data to one
// Deserialize and keeps no reference to it: the buffer belongs to the
// decoded message. A frame is never built by hand; the remote's endpoint
// writer asks the message for it (remote.RootSerializable) and the reader
// turns it back (remote.RootSerialized), so in-process delivery is
// untouched.

// frameKind describes one framed message type.
type frameKind[M proto.Message] struct {
	desc    protoreflect.MessageDescriptor
	field   protowire.Number // the bytes field holding record batches
	newMsg  func() M
	setData func(M, []byte)
	methods protoiface.Methods
}

// frame is the wire form of a message of kind k. It implements
// protoreflect.Message with no fields of its own: only its fast-path
// Marshal and Unmarshal are used.
type frame[M proto.Message] struct {
	kind *frameKind[M]
	msg  M
}

var (
	produceFrames   = newFrameKind(0, 5, func() *ProduceRequest { return new(ProduceRequest) }, func(m *ProduceRequest, b []byte) { m.Records = b })
	fetchFrames     = newFrameKind(1, 5, func() *FetchResponse { return new(FetchResponse) }, func(m *FetchResponse, b []byte) { m.Records = b })
	replicateFrames = newFrameKind(2, 7, func() *ReplicateRequest { return new(ReplicateRequest) }, func(m *ReplicateRequest, b []byte) { m.Records = b })
)

// frameFile declares the frames' names; they have no fields.
var frameFile = func() protoreflect.FileDescriptor {
	names := []string{"ProduceRequest", "FetchResponse", "ReplicateRequest"}
	fd := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("sluice/frame.proto"),
		Package: proto.String("sluice.frame"),
		Syntax:  proto.String("proto3"),
	}
	for _, n := range names {
		fd.MessageType = append(fd.MessageType, &descriptorpb.DescriptorProto{Name: proto.String(n)})
	}
	f, err := protodesc.NewFile(fd, new(protoregistry.Files))
	if err != nil {
		panic(fmt.Sprintf("messages: frame descriptors: %v", err))
	}
	return f
}()

func newFrameKind[M proto.Message](index int, field protowire.Number, newMsg func() M, setData func(M, []byte)) *frameKind[M] {
	k := &frameKind[M]{desc: frameFile.Messages().Get(index), field: field, newMsg: newMsg, setData: setData}
	k.methods = protoiface.Methods{
		Flags:     protoiface.SupportMarshalDeterministic | protoiface.SupportUnmarshalDiscardUnknown,
		Marshal:   k.marshal,
		Unmarshal: k.unmarshal,
		CheckInitialized: func(protoiface.CheckInitializedInput) (protoiface.CheckInitializedOutput, error) {
			return protoiface.CheckInitializedOutput{}, nil
		},
	}
	if err := protoregistry.GlobalTypes.RegisterMessage(k); err != nil {
		panic(fmt.Sprintf("messages: register %s: %v", k.desc.FullName(), err))
	}
	return k
}

// marshal writes the message's own protobuf encoding.
func (k *frameKind[M]) marshal(in protoiface.MarshalInput) (protoiface.MarshalOutput, error) {
	f := in.Message.(*frame[M])
	opts := proto.MarshalOptions{Deterministic: in.Flags&protoiface.MarshalDeterministic != 0}
	b, err := opts.MarshalAppend(in.Buf, f.msg)
	return protoiface.MarshalOutput{Buf: b}, err
}

// unmarshal decodes the message with the batch field aliasing in.Buf: the
// other fields are copied into a small buffer and decoded by protobuf.
func (k *frameKind[M]) unmarshal(in protoiface.UnmarshalInput) (protoiface.UnmarshalOutput, error) {
	f := in.Message.(*frame[M])
	var data, rest []byte
	for b := in.Buf; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protoiface.UnmarshalOutput{}, fmt.Errorf("%s: %w", k.desc.FullName(), protowire.ParseError(n))
		}
		if num == k.field && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b[n:])
			if m < 0 {
				return protoiface.UnmarshalOutput{}, fmt.Errorf("%s: %w", k.desc.FullName(), protowire.ParseError(m))
			}
			data = v[:len(v):len(v)] // the last occurrence wins, as in protobuf
			b = b[n+m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return protoiface.UnmarshalOutput{}, fmt.Errorf("%s: %w", k.desc.FullName(), protowire.ParseError(m))
		}
		rest = append(rest, b[:n+m]...)
		b = b[n+m:]
	}
	msg := k.newMsg()
	opts := proto.UnmarshalOptions{DiscardUnknown: in.Flags&protoiface.UnmarshalDiscardUnknown != 0, Resolver: in.Resolver}
	if err := opts.Unmarshal(rest, msg); err != nil {
		return protoiface.UnmarshalOutput{}, err
	}
	if len(data) > 0 {
		k.setData(msg, data)
	}
	f.msg = msg
	return protoiface.UnmarshalOutput{Flags: protoiface.UnmarshalInitialized}, nil
}

// protoreflect.MessageType

func (k *frameKind[M]) New() protoreflect.Message                  { return &frame[M]{kind: k} }
func (k *frameKind[M]) Zero() protoreflect.Message                 { return &frame[M]{kind: k} }
func (k *frameKind[M]) Descriptor() protoreflect.MessageDescriptor { return k.desc }

// Serialize and Deserialize connect the frames to protoactor's remote.

// Serialize gives the remote the frame of m.
func (m *ProduceRequest) Serialize() (remote.RootSerialized, error) {
	return &frame[*ProduceRequest]{kind: produceFrames, msg: m}, nil
}

// Serialize gives the remote the frame of m.
func (m *FetchResponse) Serialize() (remote.RootSerialized, error) {
	return &frame[*FetchResponse]{kind: fetchFrames, msg: m}, nil
}

// Serialize gives the remote the frame of m.
func (m *ReplicateRequest) Serialize() (remote.RootSerialized, error) {
	return &frame[*ReplicateRequest]{kind: replicateFrames, msg: m}, nil
}

// Deserialize returns the decoded message.
func (f *frame[M]) Deserialize() (remote.RootSerializable, error) {
	s, ok := any(f.msg).(remote.RootSerializable)
	if !ok {
		return nil, fmt.Errorf("messages: %s frame holds %T", f.kind.desc.FullName(), f.msg)
	}
	return s, nil
}
