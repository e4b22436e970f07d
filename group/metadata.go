package group

import (
	"github.com/sluice-mq/sluice/internal/kbin"

	"fmt"
	"time"
)

// Metadata is the value of a group metadata record: the group as it was
// after its last completed rebalance (Kafka's GroupMetadataValue). A nil
// value (a tombstone) means the group was deleted.
type Metadata struct {
	ProtocolType string
	Generation   int32
	Protocol     string // "" for an empty group (null on the wire)
	Leader       string // "" for an empty group (null on the wire)
	// StateTimestamp is when the group last changed state, in Unix
	// milliseconds; -1 when unknown (versions before 2).
	StateTimestamp int64
	Members        []MemberMetadata
}

// MemberMetadata is one member in a Metadata record.
type MemberMetadata struct {
	MemberID         string
	InstanceID       string // "" for dynamic members (null on the wire)
	ClientID         string
	ClientHost       string
	RebalanceTimeout time.Duration // whole milliseconds on the wire; -1 ms before version 1
	SessionTimeout   time.Duration // whole milliseconds on the wire
	Subscription     []byte        // metadata for the chosen protocol
	Assignment       []byte
}

// AppendTo appends the record's encoding, version 3 (Kafka's last
// non-flexible version):
//
//	version int16, protocol type string, generation int32,
//	protocol nullable string, leader nullable string, state timestamp int64,
//	members [int32 count]{member id string, instance id nullable string,
//	client id string, client host string, rebalance timeout ms int32,
//	session timeout ms int32, subscription bytes, assignment bytes}
func (md *Metadata) AppendTo(b []byte) []byte {
	b = kbin.AppendInt16(b, metadataValueVersion)
	b = kbin.AppendString(b, md.ProtocolType)
	b = kbin.AppendInt32(b, md.Generation)
	b = kbin.AppendNullableString(b, md.Protocol)
	b = kbin.AppendNullableString(b, md.Leader)
	b = kbin.AppendInt64(b, md.StateTimestamp)
	b = kbin.AppendInt32(b, int32(len(md.Members)))
	for _, m := range md.Members {
		b = kbin.AppendString(b, m.MemberID)
		b = kbin.AppendNullableString(b, m.InstanceID)
		b = kbin.AppendString(b, m.ClientID)
		b = kbin.AppendString(b, m.ClientHost)
		b = kbin.AppendInt32(b, int32(m.RebalanceTimeout.Milliseconds()))
		b = kbin.AppendInt32(b, int32(m.SessionTimeout.Milliseconds()))
		b = kbin.AppendNullableBytes(b, nonNil(m.Subscription))
		b = kbin.AppendNullableBytes(b, nonNil(m.Assignment))
	}
	return b
}

// Encode returns the record's encoding.
func (md *Metadata) Encode() []byte { return md.AppendTo(nil) }

// nonNil maps nil to empty: Kafka's schema has non-nullable bytes here.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// minMemberSize is the smallest encoding of one member (version 0).
const minMemberSize = 2 + 2 + 2 + 4 + 4 + 4

// DecodeMetadata decodes a group metadata value of versions 0 to 3. It
// returns nil for an empty value: a tombstone.
func DecodeMetadata(b []byte) (*Metadata, error) {
	if len(b) == 0 {
		return nil, nil
	}
	r := newReader(b)
	version := r.Int16()
	if r.Err() == nil && (version < 0 || version > metadataValueVersion) {
		return nil, fmt.Errorf("%w: group metadata version %d", ErrUnknownVersion, version)
	}
	md := &Metadata{
		ProtocolType:   r.String(),
		Generation:     r.Int32(),
		Protocol:       r.NullableString(),
		Leader:         r.NullableString(),
		StateTimestamp: -1,
	}
	if version >= 2 {
		md.StateTimestamp = r.Int64()
	}
	n := r.ArrayLen(minMemberSize, false)
	if n > 0 {
		md.Members = make([]MemberMetadata, 0, n)
	}
	for range n {
		m := MemberMetadata{MemberID: r.String(), RebalanceTimeout: -time.Millisecond}
		if version >= 3 {
			m.InstanceID = r.NullableString()
		}
		m.ClientID = r.String()
		m.ClientHost = r.String()
		if version >= 1 {
			m.RebalanceTimeout = time.Duration(r.Int32()) * time.Millisecond
		}
		m.SessionTimeout = time.Duration(r.Int32()) * time.Millisecond
		m.Subscription = nonNil(r.NullableBytes())
		m.Assignment = nonNil(r.NullableBytes())
		md.Members = append(md.Members, m)
	}
	if err := done(r); err != nil {
		return nil, fmt.Errorf("decode group metadata: %w", err)
	}
	return md, nil
}
