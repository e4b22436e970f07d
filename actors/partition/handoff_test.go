package partition

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	dto "github.com/prometheus/client_model/go"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

// slowDisk is an injected fsync that blocks until released: entered
// reports each fsync that started.
type slowDisk struct {
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func newSlowDisk() *slowDisk {
	d := &slowDisk{entered: make(chan struct{}, 16), release: make(chan struct{})}
	d.armed.Store(true)
	return d
}

func (d *slowDisk) option() commitlog.Option {
	return commitlog.WithBeforeSync(func() {
		if d.armed.Load() {
			d.entered <- struct{}{}
			<-d.release
		}
	})
}

// open lets every fsync through from now on.
func (d *slowDisk) open() {
	if d.armed.CompareAndSwap(true, false) {
		close(d.release)
	}
}

func (d *slowDisk) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-d.entered:
	case <-time.After(requestTimeout):
		t.Fatal("no fsync started")
	}
}

// TestProduceAlwaysFsyncLeavesMailbox: with flush.policy=always the
// produce is answered after the fsync, which runs off the actor; while it
// hangs the replica answers status and fetch requests.
func TestProduceAlwaysFsyncLeavesMailbox(t *testing.T) {
	disk := newSlowDisk()
	h := newHarness(t, func(c *Config, _ *State) {
		c.TopicConfig.FlushPolicy = metadata.FlushAlways
		c.LogOptions = []commitlog.Option{disk.option()}
	})
	t.Cleanup(disk.open)
	fut := h.system.Root.RequestFuture(h.pid, &messages.ProduceRequest{
		Topic: h.cfg.Topic, Acks: 1, Records: encode(t, 0, "a", "b"), LeaderEpoch: -1,
	}, requestTimeout)
	disk.waitEntered(t)
	if st := h.status(); st.LogEndOffset != 2 || st.HighWatermark != 0 {
		t.Fatalf("status during the fsync: %+v; want LEO 2, HW 0", st)
	}
	if f := h.fetch(0, 0, 0); f.ErrorCode != messages.ErrorCode_NONE || len(f.Records) != 0 || f.HighWatermark != 0 {
		t.Fatalf("fetch during the fsync: %+v", f)
	}
	disk.open()
	res, err := fut.Result()
	if err != nil {
		t.Fatal(err)
	}
	if p := res.(*messages.ProduceResponse); p.ErrorCode != messages.ErrorCode_NONE || p.BaseOffset != 0 {
		t.Fatalf("produce: %+v", p)
	}
	if st := h.status(); st.HighWatermark != 2 {
		t.Fatalf("status after the fsync: %+v", st)
	}
}

// TestProduceBackPressure: beyond MaxPendingProduceBytes of unanswered
// produces a new one is refused at once with the retriable
// REQUEST_TIMED_OUT and nothing is appended; once the fsync completes
// produces are taken again.
func TestProduceBackPressure(t *testing.T) {
	disk := newSlowDisk()
	h := newHarness(t, func(c *Config, _ *State) {
		c.TopicConfig.FlushPolicy = metadata.FlushAlways
		c.LogOptions = []commitlog.Option{disk.option()}
		c.MaxPendingProduceBytes = 100
	})
	t.Cleanup(disk.open)
	first := encode(t, 0, "first")
	if len(first) >= 100 {
		t.Fatalf("batch of %d bytes", len(first))
	}
	fut := h.system.Root.RequestFuture(h.pid, &messages.ProduceRequest{
		Topic: h.cfg.Topic, Acks: 1, Records: first, LeaderEpoch: -1,
	}, requestTimeout)
	disk.waitEntered(t)
	r := h.produce(encode(t, 1, "second, too much while the first is pending"), 1)
	if r.ErrorCode != messages.ErrorCode_REQUEST_TIMED_OUT || !messages.IsRetriable(messages.ErrorForCode(r.ErrorCode, "")) {
		t.Fatalf("produce over the limit: %+v", r)
	}
	if st := h.status(); st.LogEndOffset != 1 {
		t.Fatalf("refused produce was appended: %+v", st)
	}
	disk.open()
	if res, err := fut.Result(); err != nil || res.(*messages.ProduceResponse).ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("first produce: %v, %v", res, err)
	}
	if r := h.produce(encode(t, 2, "third"), 1); r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != 1 {
		t.Fatalf("produce after the fsync: %+v", r)
	}
}

// TestParkedFetchCap: MaxParkedFetches fetches wait; one more is answered
// at once with what there is.
func TestParkedFetchCap(t *testing.T) {
	metrics := NewMetrics()
	h := newHarness(t, func(c *Config, _ *State) {
		c.MaxParkedFetches = 2
		c.Metrics = metrics
	})
	var parked []actor.Future
	for range 2 {
		parked = append(parked, h.system.Root.RequestFuture(h.pid, &messages.FetchRequest{
			Topic: h.cfg.Topic, MinBytes: 1, MaxWaitMs: 60_000, MaxBytes: 1 << 20, LeaderEpoch: -1,
		}, requestTimeout))
	}
	// Request-response on one mailbox is ordered: both are parked before
	// the status is answered.
	h.status()
	if n := gauge(t, metrics); n != 2 {
		t.Fatalf("parked fetches: %v", n)
	}
	if f := h.fetch(0, 1, 60_000); f.ErrorCode != messages.ErrorCode_NONE || len(f.Records) != 0 {
		t.Fatalf("fetch beyond the cap: %+v", f)
	}
	if n := gauge(t, metrics); n != 2 {
		t.Fatalf("parked fetches after one beyond the cap: %v", n)
	}
	h.produce(encode(t, 0, "wake"), 1)
	for _, f := range parked {
		res, err := f.Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := values(t, res.(*messages.FetchResponse).Records); len(got) != 1 {
			t.Fatalf("woken fetch: %v", got)
		}
	}
}

// TestFetchWaitCap: a fetch asking to wait for ~24 days is answered after
// MaxFetchWait.
func TestFetchWaitCap(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *State) {
		c.MaxFetchWait = 20 * time.Millisecond
	})
	f := h.fetch(0, 1, 1<<31-1)
	if f.ErrorCode != messages.ErrorCode_NONE || len(f.Records) != 0 {
		t.Fatalf("capped fetch: %+v", f)
	}
}

func gauge(t *testing.T, m *Metrics) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.ParkedFetches.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetGauge().GetValue()
}

// TestFollowerTruncationLeavesMailbox: a follower whose log runs past
// the leader's cuts it in a goroutine; while the cut's fsync hangs the
// replica answers status requests, and once it is done the follower
// announces the cut log end to its leader.
func TestFollowerTruncationLeavesMailbox(t *testing.T) {
	h, disk, announced := divergedFollower(t)
	disk.waitEntered(t)
	if st := h.status(); st.NodeId != 1 || st.Leader {
		t.Fatalf("status during the truncation: %+v", st)
	}
	select {
	case a := <-announced:
		t.Fatalf("announced %+v before the cut was fsynced", a)
	default:
	}
	disk.open()
	select {
	case a := <-announced:
		if a.Leo != 2 {
			t.Fatalf("announced %+v, want log end 2", a)
		}
	case <-time.After(requestTimeout):
		t.Fatal("no announcement")
	}
	if st := h.status(); st.LogEndOffset != 2 {
		t.Fatalf("status after the truncation: %+v", st)
	}
}

// TestRoleChangeWaitsForTruncation: a follower made leader while its
// truncation's fsync hangs takes the role once the cut is done, so the
// cut never removes what it appends as leader.
func TestRoleChangeWaitsForTruncation(t *testing.T) {
	h, disk, _ := divergedFollower(t)
	disk.waitEntered(t)
	h.system.Root.Send(h.pid, &UpdateState{State: State{Leader: 1, LeaderEpoch: 2, Replicas: []int32{1}, ISR: []int32{1}}})
	if st := h.status(); st.Leader {
		t.Fatalf("leader before the truncation ended: %+v", st)
	}
	disk.open()
	deadline := time.Now().Add(requestTimeout)
	for st := h.status(); !st.Leader; st = h.status() {
		if time.Now().After(deadline) {
			t.Fatalf("never became leader: %+v", st)
		}
		time.Sleep(time.Millisecond)
	}
	if r := h.produce(encode(t, 9, "as leader"), 1); r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != 2 {
		t.Fatalf("produce as leader: %+v", r)
	}
	if st := h.status(); st.LogEndOffset != 3 {
		t.Fatalf("status: %+v", st)
	}
}

// divergedFollower starts a follower of node 2 (epoch 1) whose log holds
// offsets 0-4 of epoch 0 where the leader's epoch 0 ended at 2; its
// fsyncs hang until the returned disk opens. The fake leader's
// announcements arrive on the channel.
func divergedFollower(t *testing.T) (*harness, *slowDisk, chan *messages.ReplicateResponse) {
	t.Helper()
	dir := t.TempDir() + "/orders-0"
	l, err := commitlog.Open(dir, commitlog.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := l.Append(encode(t, int64(i), "x"), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	disk := newSlowDisk()
	var leader atomic.Pointer[actor.PID]
	h := newHarness(t, func(c *Config, s *State) {
		c.Dir = dir
		c.LogOptions = []commitlog.Option{disk.option()}
		c.ReplicationTick = 5 * time.Millisecond
		c.Peer = func(id int32) *actor.PID {
			if id == 2 {
				return leader.Load()
			}
			return nil
		}
		*s = State{Leader: 2, LeaderEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}
	})
	t.Cleanup(disk.open)
	announced := make(chan *messages.ReplicateResponse, 4)
	pid := h.system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *messages.OffsetsForLeaderEpochRequest:
			// The leader's epoch 0 ended at offset 2.
			ctx.Respond(&messages.OffsetsForLeaderEpochResponse{LeaderEpoch: 0, EndOffset: 2})
		case *messages.ReplicateResponse:
			select {
			case announced <- m:
			default:
			}
		}
	}))
	leader.Store(pid)
	return h, disk, announced
}
