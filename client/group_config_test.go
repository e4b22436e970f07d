package client

import (
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/group/assign"
)

func TestGroupConfigDefaultsAndValidation(t *testing.T) {
	cfg := GroupConfig{GroupID: "g", Topics: []string{"t"}}
	if err := cfg.applyDefaults(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Assignors, DefaultAssignors) || cfg.SessionTimeout != DefaultSessionTimeout ||
		cfg.HeartbeatInterval != DefaultHeartbeatInterval || cfg.RebalanceTimeout != DefaultRebalanceTimeout {
		t.Fatalf("defaults: %+v", cfg)
	}
	// A short session gets a heartbeat a third of it.
	cfg = GroupConfig{GroupID: "g", Topics: []string{"t"}, SessionTimeout: 900 * time.Millisecond}
	if err := cfg.applyDefaults(); err != nil || cfg.HeartbeatInterval != 300*time.Millisecond {
		t.Fatalf("short session: %v, heartbeat %v", err, cfg.HeartbeatInterval)
	}
	for name, bad := range map[string]GroupConfig{
		"no group":         {Topics: []string{"t"}},
		"no topics":        {GroupID: "g"},
		"bad topic":        {GroupID: "g", Topics: []string{"a b"}},
		"unknown assignor": {GroupID: "g", Topics: []string{"t"}, Assignors: []string{"sticky"}},
		"slow heartbeat":   {GroupID: "g", Topics: []string{"t"}, SessionTimeout: time.Second, HeartbeatInterval: time.Second},
		"negative timeout": {GroupID: "g", Topics: []string{"t"}, RebalanceTimeout: -1},
	} {
		if err := bad.applyDefaults(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestGroupConsumerProtocolChoice(t *testing.T) {
	// Cooperative only when every offered assignor is (Kafka's rule).
	for _, tc := range []struct {
		assignors   []string
		cooperative bool
	}{
		{nil, false},
		{[]string{"cooperative-sticky"}, true},
		{[]string{"cooperative-sticky", "range"}, false},
		{[]string{"roundrobin"}, false},
	} {
		cfg := GroupConfig{GroupID: "g", Topics: []string{"b", "a"}, Assignors: tc.assignors}
		if err := cfg.applyDefaults(); err != nil {
			t.Fatal(err)
		}
		if got := cooperative(cfg.Assignors); got != tc.cooperative {
			t.Errorf("%v: cooperative %v, want %v", tc.assignors, got, tc.cooperative)
		}
		g := &GroupConsumer{cfg: cfg}
		// Every protocol carries the sorted subscription and the owned
		// partitions with their generation.
		g.owned = []TopicPartition{{Topic: "a", Partition: 1}, {Topic: "a", Partition: 0}}
		ps := g.protocols(4)
		if len(ps) != len(cfg.Assignors) {
			t.Fatalf("%d protocols for %v", len(ps), cfg.Assignors)
		}
		for i, p := range ps {
			s, err := assign.DecodeSubscription(p.Metadata)
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != cfg.Assignors[i] || !slices.Equal(s.Topics, []string{"a", "b"}) || s.Generation != 4 ||
				len(s.OwnedPartitions) != 1 || len(s.OwnedPartitions[0].Partitions) != 2 {
				t.Fatalf("protocol %s: %+v", p.Name, s)
			}
		}
	}
}

func TestGroupPartitionDifference(t *testing.T) {
	tp := func(topic string, p int32) TopicPartition { return TopicPartition{Topic: topic, Partition: p} }
	a := []TopicPartition{tp("b", 0), tp("a", 2), tp("a", 1), tp("a", 1)}
	b := []TopicPartition{tp("a", 2)}
	if got, want := difference(a, b), []TopicPartition{tp("a", 1), tp("b", 0)}; !slices.Equal(got, want) {
		t.Fatalf("difference: %v, want %v", got, want)
	}
	if got := difference(b, a); len(got) != 0 {
		t.Fatalf("difference: %v, want none", got)
	}
}
