package assign

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Decoding errors.
var (
	// ErrTruncated is returned when the input ends inside a field.
	ErrTruncated = errors.New("assign: truncated consumer protocol message")
	// ErrInvalid is returned for an impossible field, such as a negative
	// version or length.
	ErrInvalid = errors.New("assign: invalid consumer protocol message")
)

// Highest versions this package writes and reads. Newer versions are read
// as these (their extra fields ignored), as Kafka's ConsumerProtocol does.
const (
	SubscriptionVersion int16 = 3
	AssignmentVersion   int16 = 3
)

// TopicPartitions is a topic and some of its partitions.
type TopicPartitions struct {
	Topic      string
	Partitions []int32
}

// Subscription is a consumer's JoinGroup protocol metadata (Kafka's
// ConsumerProtocolSubscription).
type Subscription struct {
	Version  int16
	Topics   []string
	UserData []byte // nil is null on the wire
	// OwnedPartitions are the partitions the member currently owns (v1+,
	// KIP-429).
	OwnedPartitions []TopicPartitions
	// Generation is the generation in which the member got OwnedPartitions
	// (v2+); -1 when unknown.
	Generation int32
	// Rack is the member's rack (v3+, KIP-881); "" is null on the wire.
	Rack string
}

// Assignment is the leader's SyncGroup assignment for one consumer
// (Kafka's ConsumerProtocolAssignment).
type Assignment struct {
	Version    int16
	Partitions []TopicPartitions
	UserData   []byte // nil is null on the wire
}

// AppendTo appends s's encoding at s.Version: version int16, topics
// [int32]string, user data nullable bytes; v1+ owned partitions
// [int32]{topic string, partitions [int32]int32}; v2+ generation int32;
// v3+ rack nullable string.
func (s *Subscription) AppendTo(b []byte) []byte {
	b = appendInt16(b, s.Version)
	b = appendInt32(b, int32(len(s.Topics)))
	for _, t := range s.Topics {
		b = appendString(b, t)
	}
	b = appendNullableBytes(b, s.UserData)
	if s.Version >= 1 {
		b = appendTopicPartitions(b, s.OwnedPartitions)
	}
	if s.Version >= 2 {
		b = appendInt32(b, s.Generation)
	}
	if s.Version >= 3 {
		if s.Rack == "" {
			b = appendInt16(b, -1)
		} else {
			b = appendString(b, s.Rack)
		}
	}
	return b
}

// Encode returns s's encoding.
func (s *Subscription) Encode() []byte { return s.AppendTo(nil) }

// DecodeSubscription decodes a subscription. Versions above
// SubscriptionVersion are read as SubscriptionVersion and keep their
// version number; bytes after the known fields are ignored.
func DecodeSubscription(b []byte) (*Subscription, error) {
	r := reader{b: b}
	s := &Subscription{Version: r.int16(), Generation: -1}
	if r.err == nil && s.Version < 0 {
		return nil, fmt.Errorf("%w: version %d", ErrInvalid, s.Version)
	}
	v := min(s.Version, SubscriptionVersion)
	n := r.arrayLen(2)
	for range n {
		s.Topics = append(s.Topics, r.string())
	}
	s.UserData = r.nullableBytes()
	if v >= 1 {
		s.OwnedPartitions = r.topicPartitions()
	}
	if v >= 2 {
		s.Generation = r.int32()
	}
	if v >= 3 {
		s.Rack = r.nullableString()
	}
	if r.err != nil {
		return nil, fmt.Errorf("decode subscription: %w", r.err)
	}
	return s, nil
}

// AppendTo appends a's encoding (every version has the same layout):
// version int16, partitions [int32]{topic string, partitions [int32]int32},
// user data nullable bytes.
func (a *Assignment) AppendTo(b []byte) []byte {
	b = appendInt16(b, a.Version)
	b = appendTopicPartitions(b, a.Partitions)
	return appendNullableBytes(b, a.UserData)
}

// Encode returns a's encoding.
func (a *Assignment) Encode() []byte { return a.AppendTo(nil) }

// DecodeAssignment decodes an assignment; bytes after the known fields are
// ignored. An empty input is an empty assignment, as Kafka's consumer
// treats it (the leader assigned the member nothing).
func DecodeAssignment(b []byte) (*Assignment, error) {
	if len(b) == 0 {
		return &Assignment{}, nil
	}
	r := reader{b: b}
	a := &Assignment{Version: r.int16()}
	if r.err == nil && a.Version < 0 {
		return nil, fmt.Errorf("%w: version %d", ErrInvalid, a.Version)
	}
	a.Partitions = r.topicPartitions()
	a.UserData = r.nullableBytes()
	if r.err != nil {
		return nil, fmt.Errorf("decode assignment: %w", r.err)
	}
	return a, nil
}

// Map returns tps as topic → partitions. Partitions of a topic listed twice
// are merged.
func Map(tps []TopicPartitions) map[string][]int32 {
	m := make(map[string][]int32, len(tps))
	for _, tp := range tps {
		m[tp.Topic] = append(m[tp.Topic], tp.Partitions...)
	}
	return m
}

// List returns m as a list sorted by topic, with sorted partitions; topics
// without partitions are left out.
func List(m map[string][]int32) []TopicPartitions {
	tps := make([]TopicPartitions, 0, len(m))
	for t, ps := range m {
		if len(ps) == 0 {
			continue
		}
		ps = slices.Clone(ps)
		slices.Sort(ps)
		tps = append(tps, TopicPartitions{Topic: t, Partitions: ps})
	}
	slices.SortFunc(tps, func(a, b TopicPartitions) int {
		switch {
		case a.Topic < b.Topic:
			return -1
		case a.Topic > b.Topic:
			return 1
		}
		return 0
	})
	return tps
}

func appendInt16(b []byte, v int16) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }
func appendInt32(b []byte, v int32) []byte { return binary.BigEndian.AppendUint32(b, uint32(v)) }

func appendString(b []byte, s string) []byte {
	if len(s) > math.MaxInt16 {
		s = s[:math.MaxInt16]
	}
	b = appendInt16(b, int16(len(s)))
	return append(b, s...)
}

func appendNullableBytes(b []byte, v []byte) []byte {
	if v == nil {
		return appendInt32(b, -1)
	}
	b = appendInt32(b, int32(len(v)))
	return append(b, v...)
}

func appendTopicPartitions(b []byte, tps []TopicPartitions) []byte {
	b = appendInt32(b, int32(len(tps)))
	for _, tp := range tps {
		b = appendString(b, tp.Topic)
		b = appendInt32(b, int32(len(tp.Partitions)))
		for _, p := range tp.Partitions {
			b = appendInt32(b, p)
		}
	}
	return b
}

// reader decodes Kafka's classic primitive types; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = ErrTruncated
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) int16() int16 {
	if v := r.take(2); v != nil {
		return int16(binary.BigEndian.Uint16(v))
	}
	return 0
}

func (r *reader) int32() int32 {
	if v := r.take(4); v != nil {
		return int32(binary.BigEndian.Uint32(v))
	}
	return 0
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) string() string {
	n := r.int16()
	if n < 0 {
		r.fail(fmt.Errorf("%w: string length %d", ErrInvalid, n))
		return ""
	}
	return string(r.take(int(n)))
}

func (r *reader) nullableString() string {
	n := r.int16()
	if n == -1 {
		return ""
	}
	if n < 0 {
		r.fail(fmt.Errorf("%w: string length %d", ErrInvalid, n))
		return ""
	}
	return string(r.take(int(n)))
}

func (r *reader) nullableBytes() []byte {
	n := r.int32()
	if n == -1 {
		return nil
	}
	if n < 0 {
		r.fail(fmt.Errorf("%w: bytes length %d", ErrInvalid, n))
		return nil
	}
	v := r.take(int(n))
	if v == nil {
		return nil
	}
	return append([]byte{}, v...)
}

// arrayLen reads a count and rejects one that cannot fit in the rest of the
// input (each element takes at least minSize bytes), so corrupt input cannot
// make the decoder allocate. A null array (-1) reads as empty.
func (r *reader) arrayLen(minSize int) int {
	n := r.int32()
	if r.err != nil || n == -1 {
		return 0
	}
	if n < 0 || int(n) > len(r.b)/minSize {
		r.fail(fmt.Errorf("%w: array length %d", ErrInvalid, n))
		return 0
	}
	return int(n)
}

func (r *reader) topicPartitions() []TopicPartitions {
	n := r.arrayLen(6)
	var tps []TopicPartitions
	for range n {
		tp := TopicPartitions{Topic: r.string()}
		m := r.arrayLen(4)
		for range m {
			tp.Partitions = append(tp.Partitions, r.int32())
		}
		tps = append(tps, tp)
	}
	return tps
}
