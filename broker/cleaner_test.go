package broker_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// A running broker compacts a compact topic by itself: after producing
// many updates of a few keys into small segments, the closed segments
// shrink, a fetch of the whole partition returns about one record per key
// with the latest values, and /metrics counts the cleaner's runs.
func TestBrokerCleansCompactTopic(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "sluiced.yaml")
	if err := os.WriteFile(cfgFile, []byte("cleaner:\n  backoff: 50ms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := clustertest.Start(t, 1, clustertest.WithFlags(func(int) []string { return []string{"--config", cfgFile} }))
	cl := clustertest.NewClient(t)
	resp := clustertest.Request[*messages.CreateTopicResponse](t, cl, c.NodePID(0), &messages.CreateTopicRequest{
		Name: "state", Partitions: 1, ReplicationFactor: 1,
		Configs: map[string]string{
			metadata.ConfigCleanupPolicy:          metadata.CleanupCompact,
			metadata.ConfigSegmentBytes:           "1024",
			metadata.ConfigMinCleanableDirtyRatio: "0.01",
		},
	})
	if resp.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("create topic: %v %s", resp.ErrorCode, resp.ErrorMessage)
	}
	const keys, rounds = 10, 30
	want := map[string]string{}
	var produced int
	for r := 0; r < rounds; r++ {
		recs := make([]batch.Record, keys)
		for k := range recs {
			key, value := fmt.Sprintf("key-%d", k), fmt.Sprintf("round-%d", r)
			recs[k] = batch.Record{Timestamp: time.Now().UnixMilli(), Key: []byte(key), Value: []byte(value)}
			want[key] = value
		}
		b, err := batch.Encode(recs, batch.DefaultEncodeOptions())
		if err != nil {
			t.Fatal(err)
		}
		produced += len(b)
		p := clustertest.Request[*messages.ProduceResponse](t, cl, c.ReplicaPID(0, "state", 0), &messages.ProduceRequest{
			Topic: "state", Partition: 0, Acks: 1, Records: b, LeaderEpoch: -1,
		})
		if p.ErrorCode != messages.ErrorCode_NONE {
			t.Fatalf("produce: %v %s", p.ErrorCode, p.ErrorMessage)
		}
	}
	dir := filepath.Join(c.DataDir(0), "state-0")
	waitFor(t, func() error {
		if now := closedSegmentBytes(t, dir); now > int64(produced/4) {
			return fmt.Errorf("closed segments hold %d bytes, %d before cleaning", now, produced)
		}
		return nil
	})
	// Every key still reads back with its latest value, in about one
	// record per key.
	got, n := map[string]string{}, 0
	for off := int64(0); off < int64(keys*rounds); {
		f := clustertest.Request[*messages.FetchResponse](t, cl, c.ReplicaPID(0, "state", 0), &messages.FetchRequest{
			Topic: "state", Partition: 0, Offset: off, MaxBytes: 1 << 20, LeaderEpoch: -1,
		})
		if f.ErrorCode != messages.ErrorCode_NONE || len(f.Records) == 0 {
			t.Fatalf("fetch at %d: %v %s (%d bytes)", off, f.ErrorCode, f.ErrorMessage, len(f.Records))
		}
		if err := batch.ForEach(f.Records, func(r batch.Record) error {
			got[string(r.Key)] = string(r.Value)
			n++
			off = r.Offset + 1
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s = %q after cleaning, want %q", k, got[k], v)
		}
	}
	if n >= keys*rounds/2 {
		t.Fatalf("read %d records of %d produced: not compacted", n, keys*rounds)
	}
	// The cleaner counts a run after its swap, which readers may see first.
	waitFor(t, func() error {
		res, err := http.Get("http://" + c.HTTP(0) + "/metrics")
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if strings.Contains(string(body), "sluice_log_cleaner_runs_total 0") || !strings.Contains(string(body), "sluice_log_cleaner_runs_total") {
			return fmt.Errorf("metrics report no cleaner run:\n%s", grepLines(string(body), "log_cleaner"))
		}
		return nil
	})
}

// closedSegmentBytes is the size of every .log file in dir but the newest
// (the active segment).
func closedSegmentBytes(t *testing.T, dir string) int64 {
	t.Helper()
	logs, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("segments of %s: %v %v", dir, logs, err)
	}
	var total int64
	for _, p := range logs[:len(logs)-1] { // names sort by base offset
		if st, err := os.Stat(p); err == nil {
			total += st.Size()
		}
	}
	return total
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
