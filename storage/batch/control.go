package batch

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ControlType is the type of a control record, the first i16 after the
// version in its key.
type ControlType int16

// The control record types that end a transaction.
const (
	ControlAbort  ControlType = 0
	ControlCommit ControlType = 1
)

func (t ControlType) String() string {
	switch t {
	case ControlAbort:
		return "abort"
	case ControlCommit:
		return "commit"
	}
	return fmt.Sprintf("control(%d)", int16(t))
}

// ErrBadControl means a control record's key or value is malformed or its
// type is not abort or commit.
var ErrBadControl = errors.New("batch: malformed control record")

// Sizes of the control record's key (version i16, type i16) and of a
// transaction marker's value (version i16, coordinatorEpoch i32).
const (
	controlKeySize   = 4
	controlValueSize = 6
)

// EncodeControl builds the single-record control batch that ends a
// transaction: attributes control and transactional, no compression,
// producer id and epoch of the transaction, base sequence -1 and partition
// leader epoch -1 (the leader sets it on append). The record's key holds
// version 0 and t; its value version 0 and the coordinator's epoch.
func EncodeControl(t ControlType, producerID int64, producerEpoch int16, coordinatorEpoch int32, timestamp int64) ([]byte, error) {
	if t != ControlAbort && t != ControlCommit {
		return nil, fmt.Errorf("%w: type %d", ErrBadControl, t)
	}
	var key [controlKeySize]byte
	binary.BigEndian.PutUint16(key[2:], uint16(t))
	var value [controlValueSize]byte
	binary.BigEndian.PutUint32(value[2:], uint32(coordinatorEpoch))
	opts := EncodeOptions{
		ProducerID:           producerID,
		ProducerEpoch:        producerEpoch,
		BaseSequence:         -1,
		Transactional:        true,
		PartitionLeaderEpoch: -1,
	}
	return encode([]Record{{Timestamp: timestamp, Key: key[:], Value: value[:]}}, opts, true)
}

// ParseControl reads the type and coordinator epoch of a transaction
// marker, a record of a batch whose Attributes().Control() is set. Newer
// key and value versions are read by their version 0 prefix, as Kafka
// does.
func ParseControl(rec Record) (ControlType, int32, error) {
	if len(rec.Key) < controlKeySize {
		return 0, 0, fmt.Errorf("%w: key of %d bytes", ErrBadControl, len(rec.Key))
	}
	if v := int16(binary.BigEndian.Uint16(rec.Key)); v < 0 {
		return 0, 0, fmt.Errorf("%w: key version %d", ErrBadControl, v)
	}
	t := ControlType(binary.BigEndian.Uint16(rec.Key[2:]))
	if t != ControlAbort && t != ControlCommit {
		return t, 0, fmt.Errorf("%w: type %d is not a transaction marker", ErrBadControl, t)
	}
	if len(rec.Value) < controlValueSize {
		return t, 0, fmt.Errorf("%w: value of %d bytes", ErrBadControl, len(rec.Value))
	}
	if v := int16(binary.BigEndian.Uint16(rec.Value)); v < 0 {
		return t, 0, fmt.Errorf("%w: value version %d", ErrBadControl, v)
	}
	return t, int32(binary.BigEndian.Uint32(rec.Value[2:])), nil
}
