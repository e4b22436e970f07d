package messages

import (
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/runtime/protoiface"
)

// A frame is a protoreflect.Message without fields: protobuf reaches its
// encoding only through ProtoMethods, and reflection sees an empty message.

func (f *frame[M]) ProtoReflect() protoreflect.Message { return f }

// Reset forgets the framed message (proto.Reset calls it before Unmarshal).
func (f *frame[M]) Reset() {
	var zero M
	f.msg = zero
}

func (f *frame[M]) Descriptor() protoreflect.MessageDescriptor                        { return f.kind.desc }
func (f *frame[M]) Type() protoreflect.MessageType                                    { return f.kind }
func (f *frame[M]) New() protoreflect.Message                                         { return f.kind.New() }
func (f *frame[M]) Interface() protoreflect.ProtoMessage                              { return f }
func (f *frame[M]) Range(func(protoreflect.FieldDescriptor, protoreflect.Value) bool) {}
func (f *frame[M]) Has(protoreflect.FieldDescriptor) bool                             { return false }
func (f *frame[M]) Clear(protoreflect.FieldDescriptor)                                {}
func (f *frame[M]) WhichOneof(protoreflect.OneofDescriptor) protoreflect.FieldDescriptor {
	return nil
}
func (f *frame[M]) GetUnknown() protoreflect.RawFields { return nil }
func (f *frame[M]) SetUnknown(protoreflect.RawFields)  {}
func (f *frame[M]) IsValid() bool                      { return true }
func (f *frame[M]) ProtoMethods() *protoiface.Methods  { return &f.kind.methods }

// A frame declares no fields, so no field descriptor can name one of them.

func (f *frame[M]) Get(fd protoreflect.FieldDescriptor) protoreflect.Value { panic(f.noField(fd)) }
func (f *frame[M]) Set(fd protoreflect.FieldDescriptor, _ protoreflect.Value) {
	panic(f.noField(fd))
}
func (f *frame[M]) Mutable(fd protoreflect.FieldDescriptor) protoreflect.Value { panic(f.noField(fd)) }
func (f *frame[M]) NewField(fd protoreflect.FieldDescriptor) protoreflect.Value {
	panic(f.noField(fd))
}

func (f *frame[M]) noField(fd protoreflect.FieldDescriptor) string {
	return "messages: " + string(f.kind.desc.FullName()) + " has no field " + string(fd.FullName())
}
