package group

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func sampleMetadata() *Metadata {
	return &Metadata{
		ProtocolType:   "consumer",
		Generation:     7,
		Protocol:       "range",
		Leader:         "m1",
		StateTimestamp: 1700000000123,
		Members: []MemberMetadata{
			{MemberID: "m1", InstanceID: "i1", ClientID: "c1", ClientHost: "/10.0.0.1", RebalanceTimeout: time.Minute, SessionTimeout: 10 * time.Second, Subscription: []byte{1, 2}, Assignment: []byte{3}},
			{MemberID: "m2", ClientID: "c2", ClientHost: "/10.0.0.2", RebalanceTimeout: 30 * time.Second, SessionTimeout: 45 * time.Second, Subscription: []byte{}, Assignment: []byte{}},
		},
	}
}

func TestRecordsOffsetRoundTripAndKafkaLayout(t *testing.T) {
	k := OffsetKey{Group: "g", Topic: "orders", Partition: 5}
	v := OffsetValue{Offset: 1234, LeaderEpoch: 3, Metadata: "meta", CommitTimestamp: 1700000000000}

	// Byte-for-byte what Kafka (as encoded by kmsg) writes.
	kk := kmsg.OffsetCommitKey{Version: 1, Group: "g", Topic: "orders", Partition: 5}
	if got, want := k.Encode(), kk.AppendTo(nil); !bytes.Equal(got, want) {
		t.Fatalf("key %x, kafka %x", got, want)
	}
	kv := kmsg.OffsetCommitValue{Version: 3, Offset: 1234, LeaderEpoch: 3, Metadata: "meta", CommitTimestamp: 1700000000000}
	if got, want := v.Encode(), kv.AppendTo(nil); !bytes.Equal(got, want) {
		t.Fatalf("value %x, kafka %x", got, want)
	}

	gotK, err := DecodeOffsetKey(k.Encode())
	if err != nil || gotK != k {
		t.Fatalf("key round trip %+v %v", gotK, err)
	}
	gotV, err := DecodeOffsetValue(v.Encode())
	if err != nil || *gotV != v {
		t.Fatalf("value round trip %+v %v", gotV, err)
	}
	if kind, err := RecordKind(k.Encode()); err != nil || kind != KindOffset {
		t.Fatalf("kind %v %v", kind, err)
	}

	// Older value versions written by Kafka still decode.
	for _, version := range []int16{0, 1, 2} {
		old := kmsg.OffsetCommitValue{Version: version, Offset: 9, Metadata: "m", CommitTimestamp: 5, ExpireTimestamp: 99}
		got, err := DecodeOffsetValue(old.AppendTo(nil))
		want := OffsetValue{Offset: 9, LeaderEpoch: -1, Metadata: "m", CommitTimestamp: 5}
		if err != nil || *got != want {
			t.Fatalf("v%d: %+v %v", version, got, err)
		}
	}
	// Tombstones.
	if got, err := DecodeOffsetValue(nil); got != nil || err != nil {
		t.Fatalf("tombstone %+v %v", got, err)
	}
}

func TestRecordsGroupMetadataRoundTripAndKafkaLayout(t *testing.T) {
	md := sampleMetadata()
	kv := kmsg.GroupMetadataValue{Version: 3, ProtocolType: "consumer", Generation: 7, Protocol: kmsg.StringPtr("range"), Leader: kmsg.StringPtr("m1"), CurrentStateTimestamp: 1700000000123}
	for _, m := range md.Members {
		km := kmsg.GroupMetadataValueMember{MemberID: m.MemberID, ClientID: m.ClientID, ClientHost: m.ClientHost,
			RebalanceTimeoutMillis: int32(m.RebalanceTimeout.Milliseconds()), SessionTimeoutMillis: int32(m.SessionTimeout.Milliseconds()),
			Subscription: m.Subscription, Assignment: m.Assignment}
		if m.InstanceID != "" {
			km.InstanceID = kmsg.StringPtr(m.InstanceID)
		}
		kv.Members = append(kv.Members, km)
	}
	if got, want := md.Encode(), kv.AppendTo(nil); !bytes.Equal(got, want) {
		t.Fatalf("value\n got %x\nkafka %x", got, want)
	}
	got, err := DecodeMetadata(md.Encode())
	if err != nil || !reflect.DeepEqual(got, md) {
		t.Fatalf("round trip %+v %v", got, err)
	}

	key := EncodeGroupKey("g")
	kk := kmsg.GroupMetadataKey{Version: 2, Group: "g"}
	if !bytes.Equal(key, kk.AppendTo(nil)) {
		t.Fatalf("key %x, kafka %x", key, kk.AppendTo(nil))
	}
	if g, err := DecodeGroupKey(key); err != nil || g != "g" {
		t.Fatalf("group key %q %v", g, err)
	}
	if kind, err := RecordKind(key); err != nil || kind != KindGroup {
		t.Fatalf("kind %v %v", kind, err)
	}

	// Older versions written by Kafka decode, with defaults for absent fields.
	for _, version := range []int16{0, 1, 2} {
		old := kv
		old.Version = version
		got, err := DecodeMetadata(old.AppendTo(nil))
		if err != nil {
			t.Fatalf("v%d: %v", version, err)
		}
		if got.Members[0].InstanceID != "" || (version < 2) != (got.StateTimestamp == -1) || (version < 1) != (got.Members[0].RebalanceTimeout < 0) {
			t.Fatalf("v%d: %+v", version, got)
		}
	}

	// An empty group, as written when the last member leaves.
	empty := &Metadata{ProtocolType: "consumer", Generation: 3, StateTimestamp: -1}
	got, err = DecodeMetadata(empty.Encode())
	if err != nil || !reflect.DeepEqual(got, empty) {
		t.Fatalf("empty group %+v %v", got, err)
	}
	if got, err := DecodeMetadata(nil); got != nil || err != nil {
		t.Fatalf("tombstone %+v %v", got, err)
	}
}

func TestRecordsDecodeErrors(t *testing.T) {
	key := OffsetKey{Group: "g", Topic: "t", Partition: 1}.Encode()
	value := OffsetValue{Offset: 1}.Encode()
	md := sampleMetadata().Encode()
	tests := []struct {
		name string
		err  error
		fn   func() error
	}{
		{"truncated key", ErrTruncated, func() error { _, err := DecodeOffsetKey(key[:len(key)-1]); return err }},
		{"trailing key bytes", ErrTrailingBytes, func() error { _, err := DecodeOffsetKey(append(key, 0)); return err }},
		{"group key as offset key", ErrUnknownVersion, func() error { _, err := DecodeOffsetKey(EncodeGroupKey("g")); return err }},
		{"offset key as group key", ErrUnknownVersion, func() error { _, err := DecodeGroupKey(key); return err }},
		{"future value version", ErrUnknownVersion, func() error { _, err := DecodeOffsetValue([]byte{0, 4, 0}); return err }},
		{"truncated value", ErrTruncated, func() error { _, err := DecodeOffsetValue(value[:5]); return err }},
		{"truncated metadata", ErrTruncated, func() error { _, err := DecodeMetadata(md[:len(md)-2]); return err }},
		{"huge member count", ErrInvalidRecord, func() error {
			b := (&Metadata{ProtocolType: "c"}).Encode()
			copy(b[len(b)-4:], []byte{0x7f, 0xff, 0xff, 0xff})
			return errors.Join(func() error { _, err := DecodeMetadata(b); return err }())
		}},
		{"unknown key version", ErrUnknownVersion, func() error { _, err := RecordKind([]byte{0, 9}); return err }},
		{"short key", ErrTruncated, func() error { _, err := RecordKind([]byte{0}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.fn(); !errors.Is(err, tt.err) {
				t.Fatalf("got %v, want %v", err, tt.err)
			}
		})
	}
}
