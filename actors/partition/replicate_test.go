package partition

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
)

func TestReplicaReplicatesToFollowers(t *testing.T) {
	for _, policy := range []metadata.FlushPolicy{metadata.FlushNever, metadata.FlushInterval, metadata.FlushAlways} {
		t.Run(string(policy), func(t *testing.T) { testReplicaReplicates(t, policy) })
	}
}

func testReplicaReplicates(t *testing.T, policy metadata.FlushPolicy) {
	g := newReplicaGroup(t, []int32{1, 2, 3}, nil, func(c *Config) { c.TopicConfig.FlushPolicy = policy })
	g.startAll(State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}})

	for i := range 20 {
		acks := int32(-1)
		if i%2 == 1 {
			acks = 1
		}
		resp := g.produce(1, encode(t, int64(i), fmt.Sprintf("v%d", i), "x"), acks, 0)
		wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
		if acks != -1 {
			continue
		}
		// acks=all answers only once every in-sync follower has the
		// records.
		for _, id := range []int32{2, 3} {
			if st := g.status(id); st.LogEndOffset < resp.BaseOffset+2 {
				t.Fatalf("acks=all answered at offset %d while node %d ends at %d", resp.BaseOffset, id, st.LogEndOffset)
			}
		}
	}
	g.waitCaughtUp(1)

	// A long-poll fetch at the end is woken when the next append reaches
	// the followers.
	end := g.status(1).LogEndOffset
	fetched := make(chan *messages.FetchResponse, 1)
	go func() {
		res, err := g.system.Root.RequestFuture(g.pids[1], &messages.FetchRequest{
			Topic: "orders", Offset: end, MaxBytes: 1 << 20, MinBytes: 1, MaxWaitMs: 60_000, LeaderEpoch: -1,
		}, requestTimeout).Result()
		if err != nil {
			fetched <- &messages.FetchResponse{ErrorCode: messages.ErrorCode_REQUEST_TIMED_OUT, ErrorMessage: err.Error()}
			return
		}
		fetched <- res.(*messages.FetchResponse)
	}()
	waitFor(t, waitTimeout, func() error {
		// The fetch is parked once a status sent after it is answered.
		if st := g.status(1); st.LogEndOffset != end {
			return fmt.Errorf("leo %d", st.LogEndOffset)
		}
		return nil
	})
	wantCode(t, g.produce(1, encode(t, 50, "late"), 1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	f := <-fetched
	wantCode(t, f.ErrorCode, messages.ErrorCode_NONE, f.ErrorMessage)
	if got := values(t, f.Records); fmt.Sprint(got) != fmt.Sprintf("[%d:late]", end) {
		t.Fatalf("long poll got %v", got)
	}

	// Followers serve no clients.
	wantCode(t, g.produce(2, encode(t, 1, "no"), 1, 0).ErrorCode, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, "")
	wantCode(t, g.fetch(3, 0, 0, 0).ErrorCode, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, "")

	g.waitCaughtUp(1)
	if got := values(t, g.sameLogs()); len(got) != 41 {
		t.Fatalf("%d records replicated, want 41", len(got))
	}
}

func TestReplicaDivergentFollowerTruncates(t *testing.T) {
	g := newReplicaGroup(t, []int32{1, 2}, nil, nil)
	common := [][]byte{encode(t, 1, "a", "b"), encode(t, 2, "c")}
	g.writeLog(1, 0, common...)
	// Node 2 led epoch 0 a little longer: its tail never reached node 1.
	g.writeLog(2, 0, append(common, encode(t, 3, "x"), encode(t, 4, "y", "z"))...)

	g.startAll(State{Leader: 1, LeaderEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	resp := g.produce(1, encode(t, 5, "d"), -1, 0)
	wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
	if resp.BaseOffset != 3 {
		t.Fatalf("base offset %d, want 3", resp.BaseOffset)
	}
	g.waitCaughtUp(1)
	if got := fmt.Sprint(values(t, g.sameLogs())); got != "[0:a 1:b 2:c 3:d]" {
		t.Fatalf("logs hold %s", got)
	}
}

func TestReplicaStaleLeaderCannotCommit(t *testing.T) {
	g := newReplicaGroup(t, []int32{1, 2, 3}, nil, nil)
	old := State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}}
	g.startAll(old)
	wantCode(t, g.produce(1, encode(t, 1, "a"), -1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	g.waitCaughtUp(1)

	// Node 2 takes over in epoch 1; node 1 has not heard of it yet.
	next := State{Leader: 2, LeaderEpoch: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}}
	g.update(2, next)
	g.update(3, next)
	waitFor(t, waitTimeout, func() error {
		if st := g.status(2); !st.Leader || st.LeaderEpoch != 1 {
			return fmt.Errorf("node 2 status %+v", st)
		}
		return nil
	})
	stale := g.produce(1, encode(t, 2, "stale"), -1, 300)
	if stale.ErrorCode == messages.ErrorCode_NONE {
		t.Fatal("a leader of an old epoch completed an acks=all produce")
	}
	if f := g.fetch(1, 1, 0, 0); f.HighWatermark != 1 || len(f.Records) != 0 {
		t.Fatalf("stale leader hw %d, %d bytes readable", f.HighWatermark, len(f.Records))
	}

	// Told about epoch 1, node 1 resigns: its waiting acks=all produce
	// fails; it follows node 2 and drops its stale tail.
	waiting := g.system.Root.RequestFuture(g.pids[1], &messages.ProduceRequest{
		Topic: "orders", Acks: -1, TimeoutMs: 600_000, Records: encode(t, 3, "stale2"), LeaderEpoch: -1,
	}, requestTimeout)
	g.update(1, next)
	res, err := waiting.Result()
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, res.(*messages.ProduceResponse).ErrorCode, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, "")
	resp := g.produce(2, encode(t, 3, "b"), -1, 0)
	wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
	g.waitCaughtUp(2)
	if got := fmt.Sprint(values(t, g.sameLogs())); got != "[0:a 1:b]" {
		t.Fatalf("logs hold %s", got)
	}
}

func TestReplicaRefusesForeignReplication(t *testing.T) {
	g := newReplicaGroup(t, []int32{1, 2}, nil, nil)
	// Node 2 has a log from epoch 3 and cannot reach its leader: it stays
	// in the truncation handshake.
	g.writeLog(2, 3, encode(t, 1, "a"))
	g.setGone(1, true)
	g.start(1, State{Leader: 1, LeaderEpoch: 5, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	g.start(2, State{Leader: 1, LeaderEpoch: 5, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	push := func(to, epoch, leader int32) *messages.ReplicateResponse {
		return groupRequest[*messages.ReplicateResponse](g, to, &messages.ReplicateRequest{
			Topic: "orders", LeaderEpoch: epoch, LeaderId: leader, Seq: 7,
		})
	}
	for _, c := range []struct {
		name              string
		to, epoch, leader int32
		want              messages.ErrorCode
	}{
		{"follower, older epoch", 2, 4, 1, messages.ErrorCode_FENCED_LEADER_EPOCH},
		{"follower, newer epoch", 2, 6, 1, messages.ErrorCode_UNKNOWN_LEADER_EPOCH},
		{"follower, another leader", 2, 5, 3, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER},
		{"follower, before truncation", 2, 5, 1, messages.ErrorCode_REPLICA_NOT_AVAILABLE},
		{"leader, older epoch", 1, 4, 2, messages.ErrorCode_FENCED_LEADER_EPOCH},
		{"leader, same epoch", 1, 5, 2, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER},
	} {
		resp := push(c.to, c.epoch, c.leader)
		if resp.ErrorCode != c.want || resp.Seq != 7 || resp.FollowerId != c.to {
			t.Fatalf("%s: %v seq %d follower %d, want %v seq 7 follower %d", c.name, resp.ErrorCode, resp.Seq, resp.FollowerId, c.want, c.to)
		}
	}
	query := func(to, epoch int32) *messages.OffsetsForLeaderEpochResponse {
		return groupRequest[*messages.OffsetsForLeaderEpochResponse](g, to, &messages.OffsetsForLeaderEpochRequest{
			Topic: "orders", LeaderEpoch: epoch, RequestedEpoch: epoch, ReplicaId: 2,
		})
	}
	wantCode(t, query(2, 5).ErrorCode, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, "follower answering an epoch query")
	wantCode(t, query(1, 4).ErrorCode, messages.ErrorCode_FENCED_LEADER_EPOCH, "query with an older epoch")
	if r := query(1, 5); r.ErrorCode != messages.ErrorCode_NONE || r.LeaderEpoch != 5 || r.EndOffset != 0 {
		t.Fatalf("epoch query: %v epoch %d end %d, want epoch 5 ending at 0", r.ErrorCode, r.LeaderEpoch, r.EndOffset)
	}
}

func TestReplicaFollowerBehindLogStartRestartsThere(t *testing.T) {
	g := newReplicaGroup(t, []int32{1, 2}, nil, func(c *Config) {
		c.TopicConfig.SegmentBytes = metadata.MinSegmentBytes
		c.TopicConfig.RetentionBytes = 3 * metadata.MinSegmentBytes
		c.RetentionCheckInterval = 10 * time.Millisecond
	})
	// Node 2 is a replica but not in the ISR: the leader commits alone
	// while node 2 is away.
	state := State{Leader: 1, Replicas: []int32{1, 2}, ISR: []int32{1}}
	g.start(1, state)
	for i := range 40 {
		wantCode(t, g.produce(1, encode(t, int64(i), strings.Repeat("v", 200)), 1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	}
	waitFor(t, waitTimeout, func() error {
		if st := g.status(1); st.LogStartOffset == 0 {
			return fmt.Errorf("log start %d", st.LogStartOffset)
		}
		return nil
	})

	// Node 2 starts empty, far below the leader's log start: it restarts
	// its log there and catches up.
	g.start(2, state)
	waitFor(t, waitTimeout, func() error {
		leader, follower := g.status(1), g.status(2)
		if follower.LogEndOffset != leader.LogEndOffset {
			return fmt.Errorf("follower log [%d, %d), leader [%d, %d)", follower.LogStartOffset, follower.LogEndOffset,
				leader.LogStartOffset, leader.LogEndOffset)
		}
		if follower.LogStartOffset == 0 {
			return fmt.Errorf("follower log starts at 0")
		}
		return nil
	})
	wantCode(t, g.produce(1, encode(t, 99, "after"), -1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	g.waitCaughtUp(1)
}
