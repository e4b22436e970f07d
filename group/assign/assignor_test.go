package assign

import (
	"reflect"
	"testing"
)

type plan = map[string]map[string][]int32

func members(subs map[string][]string) []Member {
	var ms []Member
	for id, topics := range subs {
		ms = append(ms, Member{ID: id, Topics: topics, Generation: -1})
	}
	return ms
}

func TestRangeAssign(t *testing.T) {
	tests := []struct {
		name   string
		subs   map[string][]string
		topics map[string]int32
		want   plan
	}{
		// Reference: RangeAssignor javadoc.
		{"javadoc: two members, two topics of three",
			map[string][]string{"C0": {"t0", "t1"}, "C1": {"t0", "t1"}},
			map[string]int32{"t0": 3, "t1": 3},
			plan{"C0": {"t0": {0, 1}, "t1": {0, 1}}, "C1": {"t0": {2}, "t1": {2}}}},
		{"even split",
			map[string][]string{"a": {"t"}, "b": {"t"}},
			map[string]int32{"t": 4},
			plan{"a": {"t": {0, 1}}, "b": {"t": {2, 3}}}},
		{"first members get the extra",
			map[string][]string{"a": {"t"}, "b": {"t"}, "c": {"t"}},
			map[string]int32{"t": 5},
			plan{"a": {"t": {0, 1}}, "b": {"t": {2, 3}}, "c": {"t": {4}}}},
		{"more members than partitions",
			map[string][]string{"a": {"t"}, "b": {"t"}, "c": {"t"}},
			map[string]int32{"t": 2},
			plan{"a": {"t": {0}}, "b": {"t": {1}}, "c": {}}},
		{"per-topic subscribers",
			map[string][]string{"a": {"t0"}, "b": {"t0", "t1"}},
			map[string]int32{"t0": 2, "t1": 2},
			plan{"a": {"t0": {0}}, "b": {"t0": {1}, "t1": {0, 1}}}},
		{"unknown topic is skipped",
			map[string][]string{"a": {"t", "missing"}},
			map[string]int32{"t": 1},
			plan{"a": {"t": {0}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Range{}).Assign(members(tt.subs), tt.topics); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRoundRobinAssign(t *testing.T) {
	tests := []struct {
		name   string
		subs   map[string][]string
		topics map[string]int32
		want   plan
	}{
		// Reference: RoundRobinAssignor javadoc, both examples.
		{"javadoc: identical subscriptions",
			map[string][]string{"C0": {"t0", "t1"}, "C1": {"t0", "t1"}},
			map[string]int32{"t0": 3, "t1": 3},
			plan{"C0": {"t0": {0, 2}, "t1": {1}}, "C1": {"t0": {1}, "t1": {0, 2}}}},
		{"javadoc: different subscriptions",
			map[string][]string{"C0": {"t0"}, "C1": {"t0", "t1"}, "C2": {"t0", "t1", "t2"}},
			map[string]int32{"t0": 1, "t1": 2, "t2": 3},
			plan{"C0": {"t0": {0}}, "C1": {"t1": {0}}, "C2": {"t1": {1}, "t2": {0, 1, 2}}}},
		{"more members than partitions",
			map[string][]string{"a": {"t"}, "b": {"t"}, "c": {"t"}},
			map[string]int32{"t": 2},
			plan{"a": {"t": {0}}, "b": {"t": {1}}, "c": {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (RoundRobin{}).Assign(members(tt.subs), tt.topics); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAssignorStaticMembersSortFirst(t *testing.T) {
	// Static members are ordered by instance id, so a restart (new member
	// id) keeps the same ranges.
	ms := []Member{
		{ID: "a-dynamic", Topics: []string{"t"}},
		{ID: "z-new-id", InstanceID: "i0", Topics: []string{"t"}},
		{ID: "b-new-id", InstanceID: "i1", Topics: []string{"t"}},
	}
	got := Range{}.Assign(ms, map[string]int32{"t": 3})
	want := plan{"z-new-id": {"t": {0}}, "b-new-id": {"t": {1}}, "a-dynamic": {"t": {2}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestCooperativeStickyAssign(t *testing.T) {
	tests := []struct {
		name    string
		members []Member
		topics  map[string]int32
		want    plan
	}{
		{"fresh group balances",
			[]Member{{ID: "a", Topics: []string{"t"}}, {ID: "b", Topics: []string{"t"}}},
			map[string]int32{"t": 4},
			plan{"a": {"t": {0, 2}}, "b": {"t": {1, 3}}}},
		{"owned partitions stay",
			[]Member{
				{ID: "a", Topics: []string{"t"}, Owned: map[string][]int32{"t": {1, 3}}, Generation: 1},
				{ID: "b", Topics: []string{"t"}, Owned: map[string][]int32{"t": {0, 2}}, Generation: 1},
			},
			map[string]int32{"t": 4},
			plan{"a": {"t": {1, 3}}, "b": {"t": {0, 2}}}},
		{"new member: moving partition is revoked first",
			[]Member{
				{ID: "a", Topics: []string{"t"}, Owned: map[string][]int32{"t": {0, 1, 2, 3}}, Generation: 1},
				{ID: "b", Topics: []string{"t"}, Generation: -1},
			},
			map[string]int32{"t": 4},
			plan{"a": {"t": {2, 3}}, "b": {}}},
		{"departed member's partitions are reassigned at once",
			[]Member{{ID: "a", Topics: []string{"t"}, Owned: map[string][]int32{"t": {0, 1}}, Generation: 2}},
			map[string]int32{"t": 4},
			plan{"a": {"t": {0, 1, 2, 3}}}},
		{"newer generation wins a double claim",
			[]Member{
				{ID: "a", Topics: []string{"t"}, Owned: map[string][]int32{"t": {0, 1}}, Generation: 1},
				{ID: "b", Topics: []string{"t"}, Owned: map[string][]int32{"t": {0}}, Generation: 2},
			},
			map[string]int32{"t": 2},
			plan{"a": {"t": {1}}, "b": {"t": {0}}}},
		{"unsubscribed topic is revoked before reassignment",
			[]Member{
				{ID: "a", Topics: []string{"u"}, Owned: map[string][]int32{"t": {0}}, Generation: 1},
				{ID: "b", Topics: []string{"t"}, Generation: 1},
			},
			map[string]int32{"t": 1, "u": 1},
			plan{"a": {"u": {0}}, "b": {}}},
		{"vanished partitions are dropped",
			[]Member{{ID: "a", Topics: []string{"t"}, Owned: map[string][]int32{"t": {0, 7}, "gone": {0}}, Generation: 1}},
			map[string]int32{"t": 2},
			plan{"a": {"t": {0, 1}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (CooperativeSticky{}).Assign(tt.members, tt.topics); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}
