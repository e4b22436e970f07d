package partition

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

// idem builds a batch of values from producer pid in epoch, starting at
// sequence seq.
func idem(t testing.TB, pid int64, epoch int16, seq int32, values ...string) []byte {
	t.Helper()
	opts := batch.DefaultEncodeOptions()
	opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence = pid, epoch, seq
	recs := make([]batch.Record, len(values))
	for i, v := range values {
		recs[i] = batch.Record{Timestamp: baseTime, Value: []byte(v)}
	}
	b, err := batch.Encode(recs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIdempotentProduce(t *testing.T) {
	h := newHarness(t, nil)
	first := h.produce(idem(t, 5, 0, 0, "a", "b", "c"), 1)
	wantCode(t, first.ErrorCode, messages.ErrorCode_NONE, first.ErrorMessage)
	wantCode(t, h.produce(encode(t, 0, "plain"), 1).ErrorCode, messages.ErrorCode_NONE, "")
	second := h.produce(idem(t, 5, 0, 3, "d"), -1)
	if second.BaseOffset != 4 {
		t.Fatalf("second batch at %d, want 4", second.BaseOffset)
	}
	end := h.status().LogEndOffset

	// A retry of either batch (its answer was lost) is answered with the
	// original offsets and appends nothing, with acks=1 and acks=all.
	for _, acks := range []int32{1, -1} {
		if r := h.produce(idem(t, 5, 0, 0, "a", "b", "c"), acks); r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != 0 {
			t.Fatalf("acks=%d retry of the first batch: %v %s at %d, want offset 0", acks, r.ErrorCode, r.ErrorMessage, r.BaseOffset)
		}
		if r := h.produce(idem(t, 5, 0, 3, "d"), acks); r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != 4 {
			t.Fatalf("acks=%d retry of the second batch: %v at %d, want offset 4", acks, r.ErrorCode, r.BaseOffset)
		}
	}
	// A gap and an older epoch are refused.
	r := h.produce(idem(t, 5, 0, 9, "gap"), 1)
	wantCode(t, r.ErrorCode, messages.ErrorCode_OUT_OF_ORDER_SEQUENCE_NUMBER, r.ErrorMessage)
	wantCode(t, h.produce(idem(t, 5, 1, 0, "new epoch"), 1).ErrorCode, messages.ErrorCode_NONE, "")
	r = h.produce(idem(t, 5, 0, 4, "zombie"), 1)
	wantCode(t, r.ErrorCode, messages.ErrorCode_INVALID_PRODUCER_EPOCH, r.ErrorMessage)
	r = h.produce(idem(t, 5, 1, 2, "skips"), 1)
	wantCode(t, r.ErrorCode, messages.ErrorCode_OUT_OF_ORDER_SEQUENCE_NUMBER, r.ErrorMessage)
	if got := h.status().LogEndOffset; got != end+1 {
		t.Fatalf("log end %d, want %d: a refused or duplicate batch was appended", got, end+1)
	}
	f := h.fetch(0, 0, 0)
	if got := fmt.Sprint(values(t, f.Records)); got != "[0:a 1:b 2:c 3:plain 4:d 5:new epoch]" {
		t.Fatalf("log %s", got)
	}
}

// The state survives a restart: from the snapshot of a clean close, and
// rebuilt from the log when no snapshot is left.
func TestIdempotenceAcrossRestarts(t *testing.T) {
	h := newHarness(t, nil)
	for i := range int32(8) {
		wantCode(t, h.produce(idem(t, 7, 2, i*2, "x", "y"), 1).ErrorCode, messages.ErrorCode_NONE, "")
	}
	h.stop()
	if snaps, _ := filepath.Glob(filepath.Join(h.cfg.Dir, "*.snapshot")); len(snaps) != 1 || filepath.Base(snaps[0]) != "00000000000000000016.snapshot" {
		t.Fatalf("snapshots after a clean close: %v", snaps)
	}
	for round, prepare := range []func(){
		func() {},
		func() {
			snaps, _ := filepath.Glob(filepath.Join(h.cfg.Dir, "*.snapshot"))
			for _, s := range snaps {
				if err := os.Remove(s); err != nil {
					t.Fatal(err)
				}
			}
			// And an unclean stop: the log is verified on open.
			if err := os.Remove(filepath.Join(h.cfg.Dir, commitlog.CleanShutdownFile)); err != nil {
				t.Fatal(err)
			}
		},
	} {
		prepare()
		h.start()
		for i := int32(3); i < 8; i++ {
			r := h.produce(idem(t, 7, 2, i*2, "x", "y"), 1)
			if r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != int64(i*2) {
				t.Fatalf("round %d: retry of batch %d: %v at %d", round, i, r.ErrorCode, r.BaseOffset)
			}
		}
		wantCode(t, h.produce(idem(t, 7, 2, 17, "gap"), 1).ErrorCode, messages.ErrorCode_OUT_OF_ORDER_SEQUENCE_NUMBER, "")
		if st := h.status(); st.LogEndOffset != 16 {
			t.Fatalf("round %d: log end %d", round, st.LogEndOffset)
		}
		h.stop()
	}
}

// Followers build the producer state from what they replicate: after a
// leader change the new leader answers a retry of a batch the old leader
// wrote with its original offsets, and goes on with the sequence.
func TestFollowerStateDedupesAfterLeaderChange(t *testing.T) {
	g := newReplicaGroup(t, []int32{1, 2}, nil, nil)
	g.startAll(State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	for i := range int32(4) {
		r := g.produce(1, idem(t, 9, 0, i, fmt.Sprint("v", i)), -1, 0)
		wantCode(t, r.ErrorCode, messages.ErrorCode_NONE, r.ErrorMessage)
	}
	g.waitCaughtUp(1)
	moved := State{Leader: 2, LeaderEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Version: 2}
	g.update(1, moved)
	g.update(2, moved)
	waitFor(t, waitTimeout, func() error {
		if st := g.status(2); !st.Leader || st.LeaderEpoch != 1 {
			return fmt.Errorf("node 2 leader %v epoch %d", st.Leader, st.LeaderEpoch)
		}
		return nil
	})
	r := g.produce(2, idem(t, 9, 0, 3, "v3"), -1, 0)
	if r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != 3 {
		t.Fatalf("retry on the new leader: %v %s at %d, want offset 3", r.ErrorCode, r.ErrorMessage, r.BaseOffset)
	}
	r = g.produce(2, idem(t, 9, 0, 6, "gap"), -1, 0)
	wantCode(t, r.ErrorCode, messages.ErrorCode_OUT_OF_ORDER_SEQUENCE_NUMBER, r.ErrorMessage)
	r = g.produce(2, idem(t, 9, 0, 4, "v4"), -1, 0)
	if r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != 4 {
		t.Fatalf("next batch on the new leader: %v at %d", r.ErrorCode, r.BaseOffset)
	}
	g.waitCaughtUp(2)
	if got := fmt.Sprint(values(t, g.sameLogs())); got != "[0:v0 1:v1 2:v2 3:v3 4:v4]" {
		t.Fatalf("logs %s", got)
	}
}

// A roll writes a snapshot at the new segment's base offset, off the
// actor (rolls in quick succession share one write, of the latest);
// retention deletes the snapshots of the segments it deletes.
func TestSnapshotsAtRollAndRetention(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *State) {
		c.TopicConfig.SegmentBytes = 1024
		c.TopicConfig.RetentionBytes = 2500
		c.TopicConfig.CleanupPolicy = metadata.CleanupDelete
		c.RetentionCheckInterval = 20 * time.Millisecond
	})
	big := string(make([]byte, 300))
	for i := range int32(12) {
		wantCode(t, h.produce(idem(t, 3, 0, i, big), 1).ErrorCode, messages.ErrorCode_NONE, "")
	}
	waitFor(t, waitTimeout, func() error {
		logs, _ := filepath.Glob(filepath.Join(h.cfg.Dir, "*.log"))
		snaps, _ := filepath.Glob(filepath.Join(h.cfg.Dir, "*.snapshot"))
		if len(snaps) == 0 {
			return fmt.Errorf("no snapshot; segments %v", logs)
		}
		bases := map[string]bool{}
		for _, l := range logs {
			bases[strings.TrimSuffix(filepath.Base(l), ".log")] = true
		}
		active := strings.TrimSuffix(filepath.Base(logs[len(logs)-1]), ".log")
		if filepath.Base(snaps[len(snaps)-1]) != active+".snapshot" {
			return fmt.Errorf("snapshots %v, active segment %s", snaps, active)
		}
		for _, s := range snaps {
			if b := strings.TrimSuffix(filepath.Base(s), ".snapshot"); !bases[b] {
				return fmt.Errorf("snapshot %s of no segment (segments %v)", b, logs)
			}
		}
		if len(logs) > 4 {
			return fmt.Errorf("retention left %d segments", len(logs))
		}
		return nil
	})
	// The retained snapshot still dedupes after a restart.
	h.stop()
	h.start()
	if r := h.produce(idem(t, 3, 0, 11, big), 1); r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != 11 {
		t.Fatalf("retry after retention and restart: %v at %d", r.ErrorCode, r.BaseOffset)
	}
}

// A follower's truncation drops the producer state of the records it
// cuts, and the snapshots describing them: as the next leader, and after
// a restart, it answers retries by what its log holds.
func TestTruncationRebuildsProducerState(t *testing.T) {
	g := newReplicaGroup(t, []int32{1, 2}, nil, nil)
	g.writeLog(1, 0, idem(t, 5, 0, 0, "a"))
	// Node 2 led epoch 0 a little longer: batch 1-2 never reached node 1,
	// and a clean close left a snapshot describing it.
	g.start(2, State{Leader: 2, LeaderEpoch: 0, Replicas: []int32{2}, ISR: []int32{2}})
	wantCode(t, g.produce(2, idem(t, 5, 0, 0, "a"), 1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	wantCode(t, g.produce(2, idem(t, 5, 0, 1, "x", "y"), 1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	g.stop(2)
	if _, err := os.Stat(filepath.Join(g.dirs[2], "00000000000000000003.snapshot")); err != nil {
		t.Fatal(err)
	}

	g.startAll(State{Leader: 1, LeaderEpoch: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	wantCode(t, g.produce(1, idem(t, 5, 0, 1, "b"), -1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	g.waitCaughtUp(1)
	if _, err := os.Stat(filepath.Join(g.dirs[2], "00000000000000000003.snapshot")); !os.IsNotExist(err) {
		t.Fatalf("the snapshot of the cut records survived the truncation: %v", err)
	}
	moved := State{Leader: 2, LeaderEpoch: 2, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Version: 2}
	g.update(1, moved)
	g.update(2, moved)
	waitFor(t, waitTimeout, func() error {
		if st := g.status(2); !st.Leader || st.LeaderEpoch != 2 {
			return fmt.Errorf("node 2 leader %v epoch %d", st.Leader, st.LeaderEpoch)
		}
		return nil
	})
	if r := g.produce(2, idem(t, 5, 0, 1, "b"), -1, 0); r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != 1 {
		t.Fatalf("retry of the leader's batch: %v at %d, want offset 1", r.ErrorCode, r.BaseOffset)
	}
	r := g.produce(2, idem(t, 5, 0, 1, "x", "y"), -1, 0)
	wantCode(t, r.ErrorCode, messages.ErrorCode_OUT_OF_ORDER_SEQUENCE_NUMBER, r.ErrorMessage)
	for i, v := range []string{"c", "d"} {
		if r := g.produce(2, idem(t, 5, 0, int32(2+i), v), -1, 0); r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != int64(2+i) {
			t.Fatalf("batch %s: %v at %d", v, r.ErrorCode, r.BaseOffset)
		}
	}
	g.waitCaughtUp(2)

	// Restart node 2 from its log alone (no close snapshot): no stale
	// snapshot may come back into play.
	g.stop(1)
	g.stop(2)
	snaps, _ := filepath.Glob(filepath.Join(g.dirs[2], "*.snapshot"))
	for _, s := range snaps {
		if filepath.Base(s) == "00000000000000000004.snapshot" {
			if err := os.Remove(s); err != nil {
				t.Fatal(err)
			}
		}
	}
	g.start(2, State{Leader: 2, LeaderEpoch: 3, Replicas: []int32{2}, ISR: []int32{2}})
	if r := g.produce(2, idem(t, 5, 0, 2, "c"), 1, 0); r.ErrorCode != messages.ErrorCode_NONE || r.BaseOffset != 2 {
		t.Fatalf("retry after restart: %v %s at %d, want offset 2", r.ErrorCode, r.ErrorMessage, r.BaseOffset)
	}
}
