package controller

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
)

func TestControllerElectLeaderTable(t *testing.T) {
	live := func(nodes ...int32) map[int32]bool {
		m := map[int32]bool{}
		for _, n := range nodes {
			m[n] = true
		}
		return m
	}
	state := func(leader, epoch int32, isr ...int32) metadata.PartitionState {
		return metadata.PartitionState{Leader: leader, LeaderEpoch: epoch, ISR: isr}
	}
	replicas := []int32{1, 2, 3}
	cases := []struct {
		name    string
		state   metadata.PartitionState
		live    map[int32]bool
		unclean bool
		want    metadata.PartitionState
		change  bool
	}{
		// Nothing to do.
		{"all live", state(1, 4, 1, 2, 3), live(1, 2, 3), false, state(1, 4, 1, 2, 3), false},
		{"offline stays offline", state(-1, 5, 3), live(1, 2), false, state(-1, 5, 3), false},
		// Leader dies: the first live ISR member in assignment order leads.
		{"leader dies", state(1, 4, 1, 2, 3), live(2, 3), false, state(2, 5, 2, 3), true},
		{"leader dies, preferred order", state(1, 4, 3, 1, 2), live(2, 3), false, state(2, 5, 3, 2), true},
		{"leader and next die", state(1, 4, 1, 2, 3), live(3), false, state(3, 5, 3), true},
		// A dead follower leaves the ISR; the epoch stays.
		{"follower dies", state(1, 4, 1, 2, 3), live(1, 3), false, state(1, 4, 1, 3), true},
		// No live ISR member.
		{"offline", state(1, 4, 1), live(2, 3), false, state(-1, 5, 1), true},
		{"unclean election", state(1, 4, 1), live(2, 3), true, state(2, 5, 2), true},
		// An ISR member comes back to an offline partition.
		{"back online", state(-1, 5, 1), live(1, 2), false, state(1, 6, 1), true},
	}
	// A node in controlled shutdown (leaving) is live but hands over.
	leaving := []struct {
		name    string
		state   metadata.PartitionState
		live    map[int32]bool
		leaving map[int32]bool
		unclean bool
		want    metadata.PartitionState
		change  bool
	}{
		{"leaving leader hands over", state(1, 4, 1, 2, 3), live(1, 2, 3), live(1), false, state(2, 5, 2, 3), true},
		{"leaving leader, only ISR member", state(1, 4, 1), live(1, 2, 3), live(1), false, state(1, 4, 1), false},
		{"leaving leader, dead follower still leaves", state(1, 4, 1, 2), live(1, 3), live(1), false, state(1, 4, 1), true},
		{"leaving follower leaves the ISR", state(2, 4, 1, 2, 3), live(1, 2, 3), live(1), false, state(2, 4, 2, 3), true},
		{"dead leader, leaving member rather than none", state(2, 4, 1, 2), live(1, 3), live(1), false, state(1, 5, 1), true},
		{"dead leader, leaving member passed over", state(3, 4, 1, 2, 3), live(1, 2), live(1), false, state(2, 5, 2), true},
		{"unclean prefers a staying node", state(3, 4, 3), live(1, 2), live(1), true, state(2, 5, 2), true},
		{"two leaving", state(1, 4, 1, 2, 3), live(1, 2, 3), live(1, 2), false, state(3, 5, 3), true},
	}
	for _, tc := range cases {
		got, change := electLeader(replicas, tc.state, nodeSet{live: tc.live}, tc.unclean)
		if change != tc.change || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: electLeader = %+v %v, want %+v %v", tc.name, got, change, tc.want, tc.change)
		}
	}
	for _, tc := range leaving {
		got, change := electLeader(replicas, tc.state, nodeSet{live: tc.live, leaving: tc.leaving}, tc.unclean)
		if change != tc.change || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: electLeader = %+v %v, want %+v %v", tc.name, got, change, tc.want, tc.change)
		}
	}
}

func TestControllerElectLeaders(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2, 3)
	f.create(t, "t", 3, 3, nil) // replicas [1 2 3] [2 3 1] [3 1 2]
	f.create(t, "single", 1, 1, map[string]string{metadata.ConfigUncleanLeaderElection: "false"})
	f.members.set(2, 3)

	changed, err := f.ctl.ElectLeaders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 4 {
		t.Fatalf("changed %v, want all four partitions", changed)
	}
	want := map[metadata.TopicPartition]metadata.PartitionState{
		{Topic: "t", Partition: 0}:      {Leader: 2, LeaderEpoch: 1, ISR: []int32{2, 3}},
		{Topic: "t", Partition: 1}:      {Leader: 2, LeaderEpoch: 0, ISR: []int32{2, 3}},
		{Topic: "t", Partition: 2}:      {Leader: 3, LeaderEpoch: 0, ISR: []int32{3, 2}},
		{Topic: "single", Partition: 0}: {Leader: -1, LeaderEpoch: 1, ISR: []int32{1}},
	}
	snap, err := metadata.Load(ctx, f.store)
	if err != nil {
		t.Fatal(err)
	}
	for tp, w := range want {
		got := snap.States[tp]
		got.Version = 0
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %+v, want %+v", tp, got, w)
		}
	}
	// Stats: t/0 got a new leader, single/0 went offline; t/1 and t/2
	// only lost a follower.
	stats := func(elections, wentOffline, offline int64) {
		t.Helper()
		st := f.ctl.Stats()
		if st.Elections.Load() != elections || st.WentOffline.Load() != wentOffline || st.Offline.Load() != offline ||
			st.Unclean.Load() != 0 || st.Topics.Load() != 2 || st.Partitions.Load() != 4 {
			t.Fatalf("stats: %d elections, %d unclean, %d went offline, %d offline, %d topics, %d partitions; want %d, 0, %d, %d, 2, 4",
				st.Elections.Load(), st.Unclean.Load(), st.WentOffline.Load(), st.Offline.Load(), st.Topics.Load(), st.Partitions.Load(),
				elections, wentOffline, offline)
		}
	}
	stats(1, 1, 1)
	// Running again changes nothing.
	if changed, err := f.ctl.ElectLeaders(ctx); err != nil || len(changed) != 0 {
		t.Fatalf("second ElectLeaders changed %v, %v", changed, err)
	}
	stats(1, 1, 1)
	// Node 1 returns: the offline partition gets its leader back.
	f.members.set(1, 2, 3)
	changed, err = f.ctl.ElectLeaders(ctx)
	if err != nil || len(changed) != 1 || changed[0] != (metadata.TopicPartition{Topic: "single", Partition: 0}) {
		t.Fatalf("ElectLeaders after return = %v, %v", changed, err)
	}
	stats(2, 1, 0)
	// No members at all: nothing is touched.
	f.members.set()
	if changed, err := f.ctl.ElectLeaders(ctx); err != nil || len(changed) != 0 {
		t.Fatalf("ElectLeaders with no members = %v, %v", changed, err)
	}
}

// interferingStore lets a test write just before the controller's next
// check-and-set on a key, so that the controller's write loses the race.
type interferingStore struct {
	cluster.Store
	mu     sync.Mutex
	before map[string]func()
}

func (s *interferingStore) CAS(ctx context.Context, key string, value []byte, version uint64) (uint64, error) {
	s.mu.Lock()
	fn := s.before[key]
	delete(s.before, key)
	s.mu.Unlock()
	if fn != nil {
		fn()
	}
	return s.Store.CAS(ctx, key, value, version)
}

func TestControllerElectLeadersRetriesLostRace(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2, 3)
	f.create(t, "t", 1, 3, nil) // replicas [1 2 3], leader 1
	st := &interferingStore{Store: f.store, before: map[string]func(){}}
	ctl := New(st, f.members, metadata.DefaultTopicConfig())

	// While the controller elects a new leader for dead node 1, the old
	// leader shrinks the ISR to [1 3]: the election must see that and pick 3.
	st.before[metadata.PartitionStateKey("t", 0)] = func() {
		s, err := metadata.GetPartitionState(ctx, f.store, "t", 0)
		if err != nil {
			t.Error(err)
			return
		}
		s.ISR = []int32{1, 3}
		if _, err := metadata.CASPartitionState(ctx, f.store, "t", 0, s, s.Version); err != nil {
			t.Error(err)
		}
	}
	f.members.set(2, 3)
	changed, err := ctl.ElectLeaders(ctx)
	if err != nil || len(changed) != 1 {
		t.Fatalf("ElectLeaders = %v, %v", changed, err)
	}
	s, _ := metadata.GetPartitionState(ctx, f.store, "t", 0)
	if s.Leader != 3 || s.LeaderEpoch != 1 || !reflect.DeepEqual(s.ISR, []int32{3}) {
		t.Fatalf("state after raced election = %+v, want leader 3 epoch 1 isr [3]", s)
	}
}

// A live member whose log dir is offline is treated like a dead one: its
// leaderships move to ISR members, it leaves every ISR, and new topics
// are not placed on it. Once its record is cleared it is a member like
// the others again.
func TestControllerOfflineLogDirActsAsDeadNode(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1, 2, 3)
	f.create(t, "t", 3, 3, nil) // replicas [1 2 3] [2 3 1] [3 1 2]
	f.create(t, "single", 1, 1, nil)
	if err := metadata.PutLogDirs(ctx, f.store, metadata.NodeLogDirs{NodeID: 1, Offline: []metadata.OfflineDir{{Dir: "/data", Error: "EIO"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ctl.ElectLeaders(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[metadata.TopicPartition]metadata.PartitionState{
		{Topic: "t", Partition: 0}:      {Leader: 2, LeaderEpoch: 1, ISR: []int32{2, 3}},
		{Topic: "t", Partition: 1}:      {Leader: 2, LeaderEpoch: 0, ISR: []int32{2, 3}},
		{Topic: "t", Partition: 2}:      {Leader: 3, LeaderEpoch: 0, ISR: []int32{3, 2}},
		{Topic: "single", Partition: 0}: {Leader: -1, LeaderEpoch: 1, ISR: []int32{1}},
	}
	snap, err := metadata.Load(ctx, f.store)
	if err != nil {
		t.Fatal(err)
	}
	for tp, w := range want {
		got := snap.States[tp]
		got.Version = 0
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %+v, want %+v", tp, got, w)
		}
	}
	f.create(t, "later", 2, 2, nil)
	snap, _ = metadata.Load(ctx, f.store)
	for p, rs := range snap.Topics["later"].Replicas {
		if slices.Contains(rs, 1) {
			t.Errorf("partition %d of a new topic placed on node 1 with an offline log dir: %v", p, rs)
		}
	}
	if err := metadata.ClearLogDirs(ctx, f.store, 1); err != nil {
		t.Fatal(err)
	}
	changed, err := f.ctl.ElectLeaders(ctx)
	if err != nil || len(changed) != 1 || changed[0] != (metadata.TopicPartition{Topic: "single", Partition: 0}) {
		t.Fatalf("ElectLeaders after the dir came back = %v, %v; want the offline partition led again", changed, err)
	}
}

// With every member's log dir offline the partitions go offline (leader
// -1): the node still answers, but nothing can lead.
func TestControllerAllLogDirsOffline(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 1)
	f.create(t, "t", 1, 1, nil)
	if err := metadata.PutLogDirs(ctx, f.store, metadata.NodeLogDirs{NodeID: 1, Offline: []metadata.OfflineDir{{Dir: "/data"}}}); err != nil {
		t.Fatal(err)
	}
	if changed, err := f.ctl.ElectLeaders(ctx); err != nil || len(changed) != 1 {
		t.Fatalf("ElectLeaders = %v, %v", changed, err)
	}
	s, _ := metadata.GetPartitionState(ctx, f.store, "t", 0)
	if s.Leader != -1 || s.LeaderEpoch != 1 {
		t.Fatalf("state %+v; want offline in a new epoch", s)
	}
}
