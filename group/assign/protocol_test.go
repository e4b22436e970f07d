package assign

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestProtocolSubscriptionMatchesKafka(t *testing.T) {
	for version := int16(0); version <= 3; version++ {
		s := &Subscription{
			Version:         version,
			Topics:          []string{"orders", "payments"},
			UserData:        []byte{9, 8},
			OwnedPartitions: []TopicPartitions{{Topic: "orders", Partitions: []int32{0, 2}}},
			Generation:      5,
			Rack:            "rack-a",
		}
		k := kmsg.NewConsumerMemberMetadata()
		k.Version = version
		k.Topics = s.Topics
		k.UserData = s.UserData
		k.OwnedPartitions = []kmsg.ConsumerMemberMetadataOwnedPartition{{Topic: "orders", Partitions: []int32{0, 2}}}
		k.Generation = 5
		k.Rack = kmsg.StringPtr("rack-a")
		if got, want := s.Encode(), k.AppendTo(nil); !bytes.Equal(got, want) {
			t.Fatalf("v%d encode\n got %x\nkafka %x", version, got, want)
		}
		got, err := DecodeSubscription(k.AppendTo(nil))
		if err != nil {
			t.Fatalf("v%d: %v", version, err)
		}
		want := *s
		if version < 1 {
			want.OwnedPartitions = nil
		}
		if version < 2 {
			want.Generation = -1
		}
		if version < 3 {
			want.Rack = ""
		}
		if !reflect.DeepEqual(*got, want) {
			t.Fatalf("v%d decode %+v, want %+v", version, *got, want)
		}
		// And kmsg reads ours.
		var back kmsg.ConsumerMemberMetadata
		if err := back.ReadFrom(s.Encode()); err != nil || back.Generation != k.Generation && version >= 2 {
			t.Fatalf("v%d: kmsg read: %v %+v", version, err, back)
		}
	}
}

func TestProtocolSubscriptionNullsAndFutureVersions(t *testing.T) {
	s := &Subscription{Version: 1, Topics: []string{"t"}}
	got, err := DecodeSubscription(s.Encode())
	if err != nil || got.UserData != nil || got.OwnedPartitions != nil || got.Generation != -1 {
		t.Fatalf("%+v %v", got, err)
	}
	// A newer version with fields this package does not know is read as v3.
	future := (&Subscription{Version: 3, Topics: []string{"t"}, Generation: 2, Rack: "r"}).Encode()
	future[1] = 9
	future = append(future, 1, 2, 3)
	got, err = DecodeSubscription(future)
	if err != nil || got.Version != 9 || got.Rack != "r" || got.Generation != 2 {
		t.Fatalf("future %+v %v", got, err)
	}
	for _, bad := range [][]byte{{}, {0}, {0xff, 0xff, 0, 0, 0, 0}, {0, 0, 0x7f, 0, 0, 0}} {
		if _, err := DecodeSubscription(bad); err == nil {
			t.Fatalf("decoded %x", bad)
		}
	}
}

func TestProtocolAssignmentMatchesKafka(t *testing.T) {
	for version := int16(0); version <= 2; version++ {
		a := &Assignment{
			Version:    version,
			Partitions: []TopicPartitions{{Topic: "a", Partitions: []int32{1}}, {Topic: "b", Partitions: []int32{0, 3}}},
			UserData:   []byte("u"),
		}
		k := kmsg.NewConsumerMemberAssignment()
		k.Version = version
		k.Topics = []kmsg.ConsumerMemberAssignmentTopic{{Topic: "a", Partitions: []int32{1}}, {Topic: "b", Partitions: []int32{0, 3}}}
		k.UserData = []byte("u")
		if got, want := a.Encode(), k.AppendTo(nil); !bytes.Equal(got, want) {
			t.Fatalf("v%d encode\n got %x\nkafka %x", version, got, want)
		}
		got, err := DecodeAssignment(k.AppendTo(nil))
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Fatalf("v%d decode %+v %v", version, got, err)
		}
	}
	if a, err := DecodeAssignment(nil); err != nil || len(a.Partitions) != 0 {
		t.Fatalf("empty assignment %+v %v", a, err)
	}
	if _, err := DecodeAssignment([]byte{0, 0, 0, 0, 0, 1}); err == nil {
		t.Fatal("truncated assignment decoded")
	}
}

func TestProtocolEncodePlan(t *testing.T) {
	plan := Range{}.Assign([]Member{{ID: "c0", Topics: []string{"t"}}, {ID: "c1", Topics: []string{"t"}}}, map[string]int32{"t": 3})
	enc := Encode(plan)
	var k kmsg.ConsumerMemberAssignment
	if err := k.ReadFrom(enc["c0"]); err != nil {
		t.Fatal(err)
	}
	if len(k.Topics) != 1 || k.Topics[0].Topic != "t" || !reflect.DeepEqual(k.Topics[0].Partitions, []int32{0, 1}) {
		t.Fatalf("c0 %+v", k)
	}
	a, err := DecodeAssignment(enc["c1"])
	if err != nil || !reflect.DeepEqual(Map(a.Partitions), map[string][]int32{"t": {2}}) {
		t.Fatalf("c1 %+v %v", a, err)
	}
	s := &Subscription{Version: 2, Topics: []string{"t"}, OwnedPartitions: a.Partitions, Generation: 4}
	m := MemberFrom("c1", "", s)
	if m.Generation != 4 || !reflect.DeepEqual(m.Owned, map[string][]int32{"t": {2}}) {
		t.Fatalf("member %+v", m)
	}
}

func FuzzDecodeSubscription(f *testing.F) {
	f.Add((&Subscription{Version: 3, Topics: []string{"a"}, OwnedPartitions: []TopicPartitions{{"a", []int32{1}}}, Generation: 1, Rack: "r"}).Encode())
	f.Add((&Subscription{Version: 0, Topics: []string{"a", "b"}}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSubscription(b)
		if err != nil {
			return
		}
		if s.Version > SubscriptionVersion {
			s.Version = SubscriptionVersion
		}
		s2, err := DecodeSubscription(s.Encode())
		if err != nil || !reflect.DeepEqual(s2, s) {
			t.Fatalf("re-decode %+v vs %+v: %v", s2, s, err)
		}
		var k kmsg.ConsumerMemberMetadata
		if err := k.ReadFrom(s.Encode()); err != nil {
			t.Fatalf("kmsg cannot read %x: %v", s.Encode(), err)
		}
	})
}

func FuzzDecodeAssignment(f *testing.F) {
	f.Add((&Assignment{Version: 0, Partitions: []TopicPartitions{{"a", []int32{1, 2}}}, UserData: []byte{1}}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAssignment(b)
		if err != nil {
			return
		}
		a2, err := DecodeAssignment(a.Encode())
		if err != nil || !reflect.DeepEqual(a2, a) {
			t.Fatalf("re-decode %+v vs %+v: %v", a2, a, err)
		}
	})
}
