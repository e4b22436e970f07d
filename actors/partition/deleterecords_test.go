package partition

import (
	"bytes"
	"fmt"
	"syscall"
	"testing"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/vfs"
)

func (h *harness) deleteRecords(offset int64) *messages.DeleteRecordsResponse {
	h.t.Helper()
	return request[*messages.DeleteRecordsResponse](h, &messages.DeleteRecordsRequest{
		Topic: h.cfg.Topic, Partition: h.cfg.Partition, Offset: offset, LeaderEpoch: -1,
	})
}

// DeleteRecords on a leader: past the high watermark is
// OFFSET_OUT_OF_RANGE, an offset moves the log start (segments wholly
// below go), -1 means the high watermark, a smaller offset changes
// nothing; the new start survives a restart.
func TestReplicaDeleteRecords(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *State) { c.TopicConfig.SegmentBytes = 1024 })
	value := string(bytes.Repeat([]byte("v"), 600))
	for range 6 {
		resp := h.produce(encode(t, 0, value), 1)
		wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
	}
	before := h.status()

	r := h.deleteRecords(7)
	wantCode(t, r.ErrorCode, messages.ErrorCode_OFFSET_OUT_OF_RANGE, r.ErrorMessage)
	if r.LowWatermark != 0 {
		t.Fatalf("low watermark %d after a refused delete, want 0", r.LowWatermark)
	}
	r = h.deleteRecords(-2)
	wantCode(t, r.ErrorCode, messages.ErrorCode_OFFSET_OUT_OF_RANGE, r.ErrorMessage)

	r = h.deleteRecords(4)
	wantCode(t, r.ErrorCode, messages.ErrorCode_NONE, r.ErrorMessage)
	if r.LowWatermark != 4 {
		t.Fatalf("low watermark %d, want 4", r.LowWatermark)
	}
	st := h.status()
	if st.LogStartOffset != 4 || st.Segments >= before.Segments {
		t.Fatalf("status %+v after delete before 4 (was %d segments)", st, before.Segments)
	}
	f := h.fetch(3, 0, 0)
	wantCode(t, f.ErrorCode, messages.ErrorCode_OFFSET_OUT_OF_RANGE, f.ErrorMessage)
	if got := values(t, h.fetch(4, 0, 0).Records); len(got) == 0 || got[0] != "4:"+value {
		t.Fatalf("fetch at the new log start: %d records", len(got))
	}
	if r := h.deleteRecords(2); r.ErrorCode != messages.ErrorCode_NONE || r.LowWatermark != 4 {
		t.Fatalf("delete below the log start: %v %d", r.ErrorCode, r.LowWatermark)
	}
	if r := h.deleteRecords(-1); r.ErrorCode != messages.ErrorCode_NONE || r.LowWatermark != 6 {
		t.Fatalf("delete before the high watermark: %v %d, want 6", r.ErrorCode, r.LowWatermark)
	}

	h.stop()
	h.start()
	if st := h.status(); st.LogStartOffset != 6 || st.LogEndOffset != 6 {
		t.Fatalf("after restart: %+v, want log start 6", st)
	}
}

// A compacted topic refuses DeleteRecords, as Kafka's does.
func TestReplicaDeleteRecordsCompactedPolicy(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *State) { c.TopicConfig.CleanupPolicy = metadata.CleanupCompact })
	r := h.deleteRecords(-1)
	wantCode(t, r.ErrorCode, messages.ErrorCode_POLICY_VIOLATION, r.ErrorMessage)
}

// A follower refuses DeleteRecords.
func TestReplicaDeleteRecordsFollower(t *testing.T) {
	h := newHarness(t, func(_ *Config, s *State) { s.Leader, s.Replicas, s.ISR = 2, []int32{1, 2}, []int32{2} })
	r := h.deleteRecords(0)
	wantCode(t, r.ErrorCode, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, r.ErrorMessage)
}

// Followers advance their log start to the leader's after DeleteRecords,
// also when no record is produced after it (a heartbeat carries it), and
// delete the segments below it.
func TestReplicaDeleteRecordsReachesFollowers(t *testing.T) {
	g := newReplicaGroup(t, []int32{1, 2, 3}, nil, func(c *Config) { c.TopicConfig.SegmentBytes = 1024 })
	g.startAll(State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}})
	value := string(bytes.Repeat([]byte("v"), 600))
	for range 6 {
		resp := g.produce(1, encode(t, 0, value), -1, 0)
		wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
	}
	g.waitCaughtUp(1)
	segments := g.status(2).Segments
	r := groupRequest[*messages.DeleteRecordsResponse](g, 1, &messages.DeleteRecordsRequest{Topic: "orders", Offset: 5, LeaderEpoch: -1})
	wantCode(t, r.ErrorCode, messages.ErrorCode_NONE, r.ErrorMessage)
	if r.LowWatermark != 5 {
		t.Fatalf("low watermark %d, want 5", r.LowWatermark)
	}
	for _, id := range []int32{2, 3} {
		waitFor(t, waitTimeout, func() error {
			if st := g.status(id); st.LogStartOffset != 5 || st.Segments >= segments {
				return fmt.Errorf("node %d: log start %d, %d segments (had %d)", id, st.LogStartOffset, st.Segments, segments)
			}
			return nil
		})
	}
	r = groupRequest[*messages.DeleteRecordsResponse](g, 2, &messages.DeleteRecordsRequest{Topic: "orders", Offset: 6, LeaderEpoch: -1})
	wantCode(t, r.ErrorCode, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER, r.ErrorMessage)
}

// A trim that cannot write its checkpoint answers KAFKA_STORAGE_ERROR and
// fails the log.
func TestReplicaDeleteRecordsCheckpointFailure(t *testing.T) {
	h, fsys, failures := faultyHarness(t, metadata.FlushNever)
	if r := h.produce(encode(t, 0, "a", "b", "c"), 1); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("produce: %v %s", r.ErrorCode, r.ErrorMessage)
	}
	fsys.Add(vfs.Rule{Op: vfs.OpRename, Pattern: "offsets.checkpoint*", Err: syscall.EIO})
	r := h.deleteRecords(2)
	wantCode(t, r.ErrorCode, messages.ErrorCode_KAFKA_STORAGE_ERROR, r.ErrorMessage)
	if f := awaitFailure(t, failures); f.Op != "checkpoint" {
		t.Fatalf("reported failure %v; want the checkpoint", f)
	}
}
