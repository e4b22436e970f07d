package txnstate

import (
	"errors"
	"fmt"
	"time"

	"github.com/sluice-mq/sluice/internal/kbin"
)

// Errors of the record decoders.
var (
	// ErrTruncated: the input ends inside a field.
	ErrTruncated = errors.New("txnstate: truncated record")
	// ErrInvalidRecord: a field holds an impossible value.
	ErrInvalidRecord = errors.New("txnstate: invalid record")
	// ErrUnknownVersion: a key or value version this package cannot read.
	ErrUnknownVersion = errors.New("txnstate: unknown record version")
	// ErrTrailingBytes: input is left over after the record.
	ErrTrailingBytes = errors.New("txnstate: trailing bytes after record")
)

// Record versions, as in Kafka's TransactionLogKey and TransactionLogValue.
const (
	keyVersion int16 = 0
	// valueVersion is written; Kafka writes it too unless transaction
	// version 2 is enabled. Version 1 (flexible, with tagged fields) is
	// read as well.
	valueVersion     int16 = 0
	maxValueVersion  int16 = 1
	minTopicSize           = 2 + 4     // empty topic name, no partitions (v0)
	minFlexibleTopic       = 1 + 1 + 1 // compact name, array, tags (v1)
	partitionSize          = 4
)

func newReader(b []byte) *kbin.Reader { return kbin.NewReader(b, ErrTruncated, ErrInvalidRecord) }

func done(r *kbin.Reader) error {
	if r.Err() == nil && r.Remaining() > 0 {
		return fmt.Errorf("%w: %d bytes", ErrTrailingBytes, r.Remaining())
	}
	return r.Err()
}

// EncodeKey returns the key of transactionalID's record: version int16
// (0), transactional id string.
func EncodeKey(transactionalID string) []byte {
	return kbin.AppendString(kbin.AppendInt16(nil, keyVersion), transactionalID)
}

// DecodeKey decodes a __transaction_state key.
func DecodeKey(b []byte) (string, error) {
	r := newReader(b)
	v := r.Int16()
	if r.Err() == nil && v != keyVersion {
		return "", fmt.Errorf("%w: key version %d", ErrUnknownVersion, v)
	}
	id := r.String()
	if err := done(r); err != nil {
		return "", fmt.Errorf("decode transaction key: %w", err)
	}
	return id, nil
}

// AppendTo appends the value's encoding, version 0:
//
//	version int16, producer id int64, producer epoch int16,
//	transaction timeout ms int32, state int8,
//	partitions nullable [int32 count]{topic string, [int32 count]partition int32}
//	  (null in state Empty, as Kafka writes it),
//	last update timestamp int64, start timestamp int64
func (md *Metadata) AppendTo(b []byte) []byte {
	b = kbin.AppendInt16(b, valueVersion)
	b = kbin.AppendInt64(b, md.ProducerID)
	b = kbin.AppendInt16(b, md.ProducerEpoch)
	b = kbin.AppendInt32(b, int32(md.Timeout.Milliseconds()))
	b = kbin.AppendInt8(b, int8(md.State))
	if md.State == Empty {
		b = kbin.AppendInt32(b, -1)
	} else {
		b = appendTopics(b, md.Partitions)
	}
	b = kbin.AppendInt64(b, md.LastUpdateTimestamp)
	return kbin.AppendInt64(b, md.StartTimestamp)
}

// appendTopics writes sorted partitions grouped by topic.
func appendTopics(b []byte, ps []Partition) []byte {
	topics := 0
	for i := range ps {
		if i == 0 || ps[i].Topic != ps[i-1].Topic {
			topics++
		}
	}
	b = kbin.AppendInt32(b, int32(topics))
	for i := 0; i < len(ps); {
		j := i
		for j < len(ps) && ps[j].Topic == ps[i].Topic {
			j++
		}
		b = kbin.AppendString(b, ps[i].Topic)
		b = kbin.AppendInt32(b, int32(j-i))
		for _, p := range ps[i:j] {
			b = kbin.AppendInt32(b, p.Partition)
		}
		i = j
	}
	return b
}

// Encode returns the value's encoding.
func (md *Metadata) Encode() []byte { return md.AppendTo(nil) }

// DecodeValue decodes a __transaction_state value of version 0 or 1. It
// returns nil for an empty value: a tombstone (an expired id). Version 1's
// tagged fields (Kafka 4's KIP-890 producer ids) are skipped. The
// partitions of an Empty state are dropped, as Kafka drops them; the last
// producer id and epoch read as none.
func DecodeValue(b []byte) (*Metadata, error) {
	if len(b) == 0 {
		return nil, nil
	}
	r := newReader(b)
	version := r.Int16()
	if r.Err() == nil && (version < 0 || version > maxValueVersion) {
		return nil, fmt.Errorf("%w: transaction value version %d", ErrUnknownVersion, version)
	}
	flexible := version >= 1
	md := &Metadata{
		ProducerID:        r.Int64(),
		ProducerEpoch:     r.Int16(),
		LastProducerID:    NoProducerID,
		LastProducerEpoch: NoProducerEpoch,
		Timeout:           time.Duration(r.Int32()) * time.Millisecond,
	}
	md.State = State(r.Int8())
	if r.Err() == nil && !md.State.valid() {
		return nil, fmt.Errorf("decode transaction value: %w: state %d", ErrInvalidRecord, md.State)
	}
	var topics int
	if flexible {
		topics = r.CompactArrayLen(minFlexibleTopic, true)
	} else {
		topics = r.ArrayLen(minTopicSize, true)
	}
	var ps []Partition
	for range topics {
		var topic string
		var n int
		if flexible {
			topic = r.CompactString()
			n = r.CompactArrayLen(partitionSize, false)
		} else {
			topic = r.String()
			n = r.ArrayLen(partitionSize, false)
		}
		for range n {
			ps = append(ps, Partition{Topic: topic, Partition: r.Int32()})
		}
		if flexible {
			r.SkipTags()
		}
	}
	md.LastUpdateTimestamp = r.Int64()
	md.StartTimestamp = r.Int64()
	if flexible {
		r.SkipTags()
	}
	if err := done(r); err != nil {
		return nil, fmt.Errorf("decode transaction value: %w", err)
	}
	if md.State != Empty {
		md.Partitions = sortPartitions(ps)
	}
	return md, nil
}
