package broker_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/broker"
	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/messages"
)

// waitUntil polls check until it returns nil or 20 s pass.
func waitUntil(t *testing.T, check func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An injected fsync error takes the node's log dir offline: produce is
// refused with KAFKA_STORAGE_ERROR, /healthz stays 200 with a warning,
// /metrics and /cluster report the offline dir, metadata is still
// served. Without the hidden flag the hook does not exist. A restart with
// the fault gone serves every acknowledged record.
func TestBrokerLogDirOfflineOnFsyncError(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.WithFlags(func(int) []string { return clustertest.FaultFlags() }))
	cl := clustertest.NewClient(t)
	resp := clustertest.Request[*messages.CreateTopicResponse](t, cl, c.NodePID(0), &messages.CreateTopicRequest{
		Name: "t", Partitions: 1, ReplicationFactor: 1, Configs: map[string]string{"flush.policy": "always"},
	})
	if resp.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("create: %v %s", resp.ErrorCode, resp.ErrorMessage)
	}
	if r := produce(t, c, cl, "t", 0, "kept"); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("produce: %v %s", r.ErrorCode, r.ErrorMessage)
	}
	c.InjectFault(0, clustertest.Fault{Op: "sync", Pattern: "*.log", Errno: "EIO"})
	if r := produce(t, c, cl, "t", 0, "refused"); r.ErrorCode != messages.ErrorCode_KAFKA_STORAGE_ERROR {
		t.Fatalf("produce with a failing fsync: %v %s; want KAFKA_STORAGE_ERROR", r.ErrorCode, r.ErrorMessage)
	}
	waitUntil(t, func() error {
		code, body, err := c.HTTPGet(0, "/healthz")
		if err != nil || code != http.StatusOK || !strings.Contains(body, "warning: log dir "+c.DataDir(0)+" offline") {
			return fmt.Errorf("/healthz = %d %q, %v; want 200 with the offline dir warning", code, body, err)
		}
		return nil
	})
	if _, body, err := c.HTTPGet(0, "/metrics"); err != nil || !strings.Contains(body, `sluice_log_dir_offline{dir="`+c.DataDir(0)+`"} 1`) {
		t.Fatalf("/metrics lacks the offline gauge (%v)", err)
	}
	_, body, err := c.HTTPGet(0, "/cluster")
	if err != nil {
		t.Fatal(err)
	}
	var st broker.ClusterStatus
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.LogDirs) != 1 || !st.LogDirs[0].Offline || !strings.Contains(st.LogDirs[0].Error, "input/output error") {
		t.Fatalf("/cluster log dirs %+v", st.LogDirs)
	}
	md := clustertest.Request[*messages.MetadataResponse](t, cl, c.NodePID(0), &messages.MetadataRequest{})
	if len(md.Brokers) != 1 {
		t.Fatalf("metadata while offline: %+v", md)
	}
	if r := produce(t, c, cl, "t", 0, "refused"); r.ErrorCode != messages.ErrorCode_KAFKA_STORAGE_ERROR {
		t.Fatalf("produce while offline: %v %s", r.ErrorCode, r.ErrorMessage)
	}

	// Restart without the hook: the dir is online, the log recovered.
	c.SetFlags(nil)
	c.Restart(0)
	if code, _, _ := c.HTTPGet(0, "/test/faults"); code != http.StatusNotFound {
		t.Fatalf("/test/faults without the flag answers %d; want 404", code)
	}
	if _, body, _ := c.HTTPGet(0, "/metrics"); !strings.Contains(body, `sluice_log_dir_offline{dir="`+c.DataDir(0)+`"} 0`) {
		t.Fatal("restarted node still reports its log dir offline")
	}
	waitUntil(t, func() error {
		f := fetch(t, c, cl, "t", 0, 0)
		if f.ErrorCode != messages.ErrorCode_NONE {
			return fmt.Errorf("fetch after restart: %v %s", f.ErrorCode, f.ErrorMessage)
		}
		if got := decode(t, f.Records); len(got) == 0 || got[0] != "0:kept" {
			return fmt.Errorf("fetch after restart: %v; want the acknowledged record first", got)
		}
		return nil
	})
	if r := produce(t, c, cl, "t", 0, "after"); r.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("produce after restart: %v %s", r.ErrorCode, r.ErrorMessage)
	}
}
