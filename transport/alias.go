package transport

import (
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// AliasMinBytes is the smallest bytes field value that unmarshalAliasing
// leaves in the received buffer; smaller values are copied, so a small
// message kept for long does not keep a large buffer alive.
const AliasMinBytes = 32 << 10

// maxAliasDepth bounds the nesting unmarshalAliasing follows, as
// protobuf's own recursion limit does.
const maxAliasDepth = 100

var errAliasDepth = errors.New("transport: message nested too deep")

// unmarshalAliasing decodes b into m as proto.Unmarshal would, except that
// the values of bytes fields of at least AliasMinBytes, in m and in the
// messages nested in it, alias b instead of being copied. b belongs to m
// from then on. The remote's envelopes carry each message's encoding in
// such a field: aliasing it saves a copy of every record batch received.
//
// Fields are applied in the order they arrive, so the last occurrence of
// a field or oneof member wins as in protobuf; whatever is not an aliased
// bytes value or a nested message is decoded by protobuf itself.
func unmarshalAliasing(b []byte, m protoreflect.Message) error {
	proto.Reset(m.Interface())
	return aliasInto(b, m, 0)
}

func aliasInto(b []byte, m protoreflect.Message, depth int) error {
	if depth > maxAliasDepth {
		return errAliasDepth
	}
	fields := m.Descriptor().Fields()
	var rest []byte // fields protobuf decodes, not yet applied
	flush := func() error {
		if len(rest) == 0 {
			return nil
		}
		err := proto.UnmarshalOptions{Merge: true}.Unmarshal(rest, m.Interface())
		rest = rest[:0]
		return err
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		fd := fields.ByNumber(num)
		if fd == nil || typ != protowire.BytesType || fd.IsMap() ||
			(fd.Kind() != protoreflect.BytesKind && fd.Kind() != protoreflect.MessageKind) ||
			(fd.Kind() == protoreflect.BytesKind && fd.IsList()) {
			l := protowire.ConsumeFieldValue(num, typ, b[n:])
			if l < 0 {
				return protowire.ParseError(l)
			}
			rest = append(rest, b[:n+l]...)
			b = b[n+l:]
			continue
		}
		v, l := protowire.ConsumeBytes(b[n:])
		if l < 0 {
			return protowire.ParseError(l)
		}
		b = b[n+l:]
		if err := flush(); err != nil {
			return err
		}
		switch {
		case fd.Kind() == protoreflect.BytesKind:
			if len(v) < AliasMinBytes {
				v = append([]byte{}, v...)
			}
			m.Set(fd, protoreflect.ValueOfBytes(v[:len(v):len(v)]))
		case fd.IsList():
			list := m.Mutable(fd).List()
			elem := list.NewElement()
			if err := aliasInto(v, elem.Message(), depth+1); err != nil {
				return err
			}
			list.Append(elem)
		default:
			if err := aliasInto(v, m.Mutable(fd).Message(), depth+1); err != nil {
				return err
			}
		}
	}
	return flush()
}
