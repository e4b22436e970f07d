package partition

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/commitlog"
	"github.com/sluice-mq/sluice/storage/vfs"
)

// faultyHarness starts a leader whose log is on a fault-injecting file
// layer and whose failures are reported on the returned channel.
func faultyHarness(t *testing.T, policy metadata.FlushPolicy) (*harness, *vfs.Faulty, chan *commitlog.FailedError) {
	fsys := vfs.NewFaulty(nil)
	failures := make(chan *commitlog.FailedError, 8)
	h := newHarness(t, func(c *Config, _ *State) {
		c.TopicConfig.FlushPolicy = policy
		c.LogOptions = []commitlog.Option{commitlog.WithFS(fsys), commitlog.WithFailureHandler(func(e *commitlog.FailedError) {
			failures <- e
		})}
	})
	return h, fsys, failures
}

func awaitFailure(t *testing.T, failures chan *commitlog.FailedError) *commitlog.FailedError {
	t.Helper()
	select {
	case e := <-failures:
		return e
	case <-time.After(requestTimeout):
		t.Fatal("the log reported no failure")
		return nil
	}
}

// A full disk answers the produce with KAFKA_STORAGE_ERROR and reports
// the failure; once the node takes the dir offline the replica refuses
// produce and fetch with KAFKA_STORAGE_ERROR, does not reopen its log on
// a config change, and the records acknowledged before are intact on
// disk.
func TestDiskFullThenLogDirOffline(t *testing.T) {
	h, fsys, failures := faultyHarness(t, metadata.FlushNever)
	if r := h.produce(encode(t, 0, "a", "b"), 1); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("produce: %v %s", r.ErrorCode, r.ErrorMessage)
	}
	fsys.Add(vfs.Rule{Op: vfs.OpWrite, Pattern: "*.log", AfterBytes: 10, Err: syscall.ENOSPC})
	r := h.produce(encode(t, 1, "c"), 1)
	wantCode(t, r.ErrorCode, messages.ErrorCode_KAFKA_STORAGE_ERROR, r.ErrorMessage)
	if f := awaitFailure(t, failures); !f.DiskFull() || f.Op != "append" {
		t.Fatalf("reported failure %v; want a full disk on append", f)
	}

	h.system.Root.Send(h.pid, &LogDirOffline{Err: errors.New("disk full")})
	fsys.Clear()
	r = h.produce(encode(t, 2, "d"), 1)
	wantCode(t, r.ErrorCode, messages.ErrorCode_KAFKA_STORAGE_ERROR, r.ErrorMessage)
	if !strings.Contains(r.ErrorMessage, "log dir offline") {
		t.Fatalf("produce refused with %q; want it to name the offline log dir", r.ErrorMessage)
	}
	f := h.fetch(0, 0, 0)
	wantCode(t, f.ErrorCode, messages.ErrorCode_KAFKA_STORAGE_ERROR, f.ErrorMessage)
	h.system.Root.Send(h.pid, &UpdateConfig{TopicConfig: metadata.DefaultTopicConfig()})
	r = h.produce(encode(t, 3, "e"), 1)
	wantCode(t, r.ErrorCode, messages.ErrorCode_KAFKA_STORAGE_ERROR, r.ErrorMessage)
	h.stop()

	if _, err := os.Stat(h.cfg.Dir + "/" + commitlog.CleanShutdownFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an offline replica closed its log clean (%v)", err)
	}
	l, err := commitlog.Open(h.cfg.Dir, commitlog.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	raw, err := l.Read(0, 1<<20, l.LogEndOffset())
	if err != nil {
		t.Fatal(err)
	}
	if got := values(t, raw); strings.Join(got, ",") != "0:a,1:b" {
		t.Fatalf("log after recovery holds %v; want the acknowledged records only", got)
	}
}

// An fsync error (flush.policy=always) fails the waiting produce with
// KAFKA_STORAGE_ERROR; a parked fetch is answered with it when the dir
// goes offline.
func TestFsyncErrorFailsProduceAndOfflineAnswersParked(t *testing.T) {
	h, fsys, failures := faultyHarness(t, metadata.FlushAlways)
	if r := h.produce(encode(t, 0, "a"), 1); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("produce: %v %s", r.ErrorCode, r.ErrorMessage)
	}
	fsys.Add(vfs.Rule{Op: vfs.OpSync, Err: syscall.EIO})
	r := h.produce(encode(t, 1, "b"), 1)
	wantCode(t, r.ErrorCode, messages.ErrorCode_KAFKA_STORAGE_ERROR, r.ErrorMessage)
	if f := awaitFailure(t, failures); f.Op != "fsync" || !errors.Is(f, syscall.EIO) {
		t.Fatalf("reported failure %v; want the fsync's EIO", f)
	}
	parked := h.system.Root.RequestFuture(h.pid, &messages.FetchRequest{
		Topic: h.cfg.Topic, Offset: 1, MaxBytes: 1 << 20, MinBytes: 1 << 20, MaxWaitMs: 60_000, LeaderEpoch: -1,
	}, requestTimeout)
	// The status answer proves the fetch was handled (parked) first.
	h.status()
	h.system.Root.Send(h.pid, &LogDirOffline{Err: errors.New("fsync failed")})
	res, err := parked.Result()
	if err != nil {
		t.Fatalf("parked fetch: %v", err)
	}
	fr := res.(*messages.FetchResponse)
	wantCode(t, fr.ErrorCode, messages.ErrorCode_KAFKA_STORAGE_ERROR, fr.ErrorMessage)
}

// A replica spawned while the node's log dir is offline does not open
// (or create) its log and refuses with KAFKA_STORAGE_ERROR.
func TestSpawnedOffline(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *State) { c.Offline = errors.New("disk gone") })
	r := h.produce(encode(t, 0, "a"), 1)
	wantCode(t, r.ErrorCode, messages.ErrorCode_KAFKA_STORAGE_ERROR, r.ErrorMessage)
	if _, err := os.Stat(h.cfg.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("offline replica touched its directory: %v", err)
	}
}
