package group

import (
	"github.com/sluice-mq/sluice/internal/kbin"

	"fmt"
	"time"
)

// Key versions of __consumer_offsets records, as in Kafka: the version that
// starts every key also says what the record is.
const (
	offsetKeyVersion0 int16 = 0 // offset commit, written by Kafka before 0.10
	offsetKeyVersion  int16 = 1 // offset commit
	groupKeyVersion   int16 = 2 // group metadata
)

// Value versions written. Decoders read every older version too.
const (
	offsetValueVersion   int16 = 3
	metadataValueVersion int16 = 3
)

// KeyKind says what a __consumer_offsets record is about.
type KeyKind int8

const (
	KindOffset KeyKind = iota + 1 // key is an OffsetKey
	KindGroup                     // key is a group metadata key
)

// OffsetKey is the key of an offset-commit record.
type OffsetKey struct {
	Group     string
	Topic     string
	Partition int32
}

// OffsetValue is the value of an offset-commit record. A nil value (a
// tombstone) deletes the committed offset.
type OffsetValue struct {
	Offset int64
	// LeaderEpoch is the leader epoch of the record at Offset-1 as the
	// consumer saw it, or -1.
	LeaderEpoch int32
	Metadata    string
	// CommitTimestamp is the commit time in Unix milliseconds.
	CommitTimestamp int64
}

// CommitTime returns CommitTimestamp as a time.
func (v OffsetValue) CommitTime() time.Time { return time.UnixMilli(v.CommitTimestamp) }

// RecordKind reads the version at the start of a __consumer_offsets key.
func RecordKind(key []byte) (KeyKind, error) {
	r := newReader(key)
	v := r.Int16()
	if r.Err() != nil {
		return 0, r.Err()
	}
	switch v {
	case offsetKeyVersion0, offsetKeyVersion:
		return KindOffset, nil
	case groupKeyVersion:
		return KindGroup, nil
	}
	return 0, fmt.Errorf("%w: key version %d", ErrUnknownVersion, v)
}

// AppendTo appends the key's encoding: version int16 (1), group string,
// topic string, partition int32.
func (k OffsetKey) AppendTo(b []byte) []byte {
	b = kbin.AppendInt16(b, offsetKeyVersion)
	b = kbin.AppendString(b, k.Group)
	b = kbin.AppendString(b, k.Topic)
	return kbin.AppendInt32(b, k.Partition)
}

// Encode returns the key's encoding.
func (k OffsetKey) Encode() []byte { return k.AppendTo(nil) }

// DecodeOffsetKey decodes an offset-commit key (versions 0 and 1, which
// share a layout).
func DecodeOffsetKey(b []byte) (OffsetKey, error) {
	r := newReader(b)
	v := r.Int16()
	if r.Err() == nil && v != offsetKeyVersion0 && v != offsetKeyVersion {
		return OffsetKey{}, fmt.Errorf("%w: offset key version %d", ErrUnknownVersion, v)
	}
	k := OffsetKey{Group: r.String(), Topic: r.String(), Partition: r.Int32()}
	if err := done(r); err != nil {
		return OffsetKey{}, fmt.Errorf("decode offset key: %w", err)
	}
	return k, nil
}

// AppendTo appends the value's encoding, version 3: version int16, offset
// int64, leader epoch int32, metadata string, commit timestamp int64.
func (v OffsetValue) AppendTo(b []byte) []byte {
	b = kbin.AppendInt16(b, offsetValueVersion)
	b = kbin.AppendInt64(b, v.Offset)
	b = kbin.AppendInt32(b, v.LeaderEpoch)
	b = kbin.AppendString(b, v.Metadata)
	return kbin.AppendInt64(b, v.CommitTimestamp)
}

// Encode returns the value's encoding.
func (v OffsetValue) Encode() []byte { return v.AppendTo(nil) }

// DecodeOffsetValue decodes an offset-commit value of versions 0 to 3. It
// returns nil for an empty value: a tombstone. Versions before 3 have no
// leader epoch (it reads as -1); version 1's expire timestamp is dropped,
// as Kafka no longer uses it (KIP-211).
func DecodeOffsetValue(b []byte) (*OffsetValue, error) {
	if len(b) == 0 {
		return nil, nil
	}
	r := newReader(b)
	version := r.Int16()
	if r.Err() == nil && (version < 0 || version > offsetValueVersion) {
		return nil, fmt.Errorf("%w: offset value version %d", ErrUnknownVersion, version)
	}
	v := &OffsetValue{Offset: r.Int64(), LeaderEpoch: -1}
	if version >= 3 {
		v.LeaderEpoch = r.Int32()
	}
	v.Metadata = r.String()
	v.CommitTimestamp = r.Int64()
	if version == 1 {
		r.Int64() // expire timestamp
	}
	if err := done(r); err != nil {
		return nil, fmt.Errorf("decode offset value: %w", err)
	}
	return v, nil
}

// EncodeGroupKey returns the key of group's metadata record: version int16
// (2), group string.
func EncodeGroupKey(group string) []byte {
	return kbin.AppendString(kbin.AppendInt16(nil, groupKeyVersion), group)
}

// DecodeGroupKey decodes a group metadata key.
func DecodeGroupKey(b []byte) (string, error) {
	r := newReader(b)
	v := r.Int16()
	if r.Err() == nil && v != groupKeyVersion {
		return "", fmt.Errorf("%w: group key version %d", ErrUnknownVersion, v)
	}
	g := r.String()
	if err := done(r); err != nil {
		return "", fmt.Errorf("decode group key: %w", err)
	}
	return g, nil
}
