package assign

import (
	"errors"
	"fmt"
	"slices"

	"github.com/sluice-mq/sluice/internal/kbin"
)

// ConsumerProtocolType is the JoinGroup protocol type of Kafka consumers,
// whose protocols carry the Subscription and Assignment below.
const ConsumerProtocolType = "consumer"

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
	b = kbin.AppendInt16(b, s.Version)
	b = kbin.AppendInt32(b, int32(len(s.Topics)))
	for _, t := range s.Topics {
		b = kbin.AppendString(b, t)
	}
	b = kbin.AppendNullableBytes(b, s.UserData)
	if s.Version >= 1 {
		b = appendTopicPartitions(b, s.OwnedPartitions)
	}
	if s.Version >= 2 {
		b = kbin.AppendInt32(b, s.Generation)
	}
	if s.Version >= 3 {
		if s.Rack == "" {
			b = kbin.AppendInt16(b, -1)
		} else {
			b = kbin.AppendString(b, s.Rack)
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
	r := newReader(b)
	s := &Subscription{Version: r.Int16(), Generation: -1}
	if r.Err() == nil && s.Version < 0 {
		return nil, fmt.Errorf("%w: version %d", ErrInvalid, s.Version)
	}
	v := min(s.Version, SubscriptionVersion)
	n := r.ArrayLen(2, true)
	for range n {
		s.Topics = append(s.Topics, r.String())
	}
	s.UserData = r.NullableBytes()
	if v >= 1 {
		s.OwnedPartitions = topicPartitions(r)
	}
	if v >= 2 {
		s.Generation = r.Int32()
	}
	if v >= 3 {
		s.Rack = r.NullableString()
	}
	if r.Err() != nil {
		return nil, fmt.Errorf("decode subscription: %w", r.Err())
	}
	return s, nil
}

// AppendTo appends a's encoding (every version has the same layout):
// version int16, partitions [int32]{topic string, partitions [int32]int32},
// user data nullable bytes.
func (a *Assignment) AppendTo(b []byte) []byte {
	b = kbin.AppendInt16(b, a.Version)
	b = appendTopicPartitions(b, a.Partitions)
	return kbin.AppendNullableBytes(b, a.UserData)
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
	r := newReader(b)
	a := &Assignment{Version: r.Int16()}
	if r.Err() == nil && a.Version < 0 {
		return nil, fmt.Errorf("%w: version %d", ErrInvalid, a.Version)
	}
	a.Partitions = topicPartitions(r)
	a.UserData = r.NullableBytes()
	if r.Err() != nil {
		return nil, fmt.Errorf("decode assignment: %w", r.Err())
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

func appendTopicPartitions(b []byte, tps []TopicPartitions) []byte {
	b = kbin.AppendInt32(b, int32(len(tps)))
	for _, tp := range tps {
		b = kbin.AppendString(b, tp.Topic)
		b = kbin.AppendInt32(b, int32(len(tp.Partitions)))
		for _, p := range tp.Partitions {
			b = kbin.AppendInt32(b, p)
		}
	}
	return b
}

// newReader decodes a consumer protocol message, reporting errors with
// this package's sentinels.
func newReader(b []byte) *kbin.Reader { return kbin.NewReader(b, ErrTruncated, ErrInvalid) }

func topicPartitions(r *kbin.Reader) []TopicPartitions {
	n := r.ArrayLen(6, true)
	var tps []TopicPartitions
	for range n {
		tp := TopicPartitions{Topic: r.String()}
		m := r.ArrayLen(4, true)
		for range m {
			tp.Partitions = append(tp.Partitions, r.Int32())
		}
		tps = append(tps, tp)
	}
	return tps
}
