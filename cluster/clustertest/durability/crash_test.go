package durability

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/checkpoint"
	"github.com/sluice-mq/sluice/storage/commitlog"
)

// TestCrashRecoveryScansOnlyTail SIGKILLs a node while producers write
// to it and restarts it: recovery verifies no more than the bytes written
// after the recovery point the node checkpointed while running (plus at
// most one batch), a small part of the log, and every acknowledged
// record is still there.
func TestCrashRecoveryScansOnlyTail(t *testing.T) {
	const topic = "crash"
	c := startNode(t, `
log:
  segment_bytes: 2097152
  flush_policy: interval
  checkpoint_interval: 200ms
`)
	cl := clustertest.NewClient(t)
	createTopic(t, c, cl, topic, 1, nil)
	pid := c.ReplicaPID(0, topic, 0)
	b := records(t, 8, 4000)
	batchBytes := len(b)

	// Eight producers write the log at full speed, then one goes on at a
	// trickle while the node checkpoints, and the node dies under it.
	var acked, ackedRecords atomic.Int64
	var trickle atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if trickle.Load() {
					time.Sleep(10 * time.Millisecond) // pacing, not waiting
					if i > 0 {
						continue
					}
				}
				req := &messages.ProduceRequest{Topic: topic, Acks: 1, Records: b, LeaderEpoch: -1}
				res, err := cl.System.Root.RequestFuture(pid, req, 2*time.Second).Result()
				if err != nil {
					continue // the node is gone; stop comes next
				}
				if r := res.(*messages.ProduceResponse); r.ErrorCode == messages.ErrorCode_NONE {
					acked.Add(int64(len(b)))
					ackedRecords.Add(8)
				}
			}
		}()
	}
	dir := filepath.Join(c.DataDir(0), topic+"-0")
	waitFor(t, "8 MiB acknowledged", func() error {
		if n := acked.Load(); n < 8<<20 {
			return fmt.Errorf("%d bytes acknowledged", n)
		}
		return nil
	})
	trickle.Store(true)
	written := ackedRecords.Load()
	waitFor(t, "a checkpoint covering them", func() error {
		if rp := recoveryPoint(t, dir); rp < written {
			return fmt.Errorf("checkpointed recovery point %d, %d records acknowledged", rp, written)
		}
		return nil
	})
	// A few trickle batches after that checkpoint, the node dies.
	covered := ackedRecords.Load()
	waitFor(t, "more records after the checkpoint", func() error {
		if n := ackedRecords.Load(); n < covered+3*8 {
			return fmt.Errorf("%d records acknowledged", n)
		}
		return nil
	})
	c.Kill(0) // under load
	close(stop)
	defer wg.Wait() // requests lost with the process time out
	sureAcked := ackedRecords.Load()

	rp := recoveryPoint(t, dir)
	after, total := bytesFrom(t, dir, rp)
	c.StartNode(0)
	scanned := int64(metric(t, c, "sluice_log_recovery_scanned_bytes_total"))
	t.Logf("log of %d bytes, checkpointed recovery point %d, %d bytes after it; recovery scanned %d bytes", total, rp, after, scanned)
	if scanned > after+int64(batchBytes) {
		t.Fatalf("recovery scanned %d bytes, only %d were written after the checkpointed recovery point %d", scanned, after, rp)
	}
	if 4*scanned > total {
		t.Fatalf("recovery scanned %d of %d log bytes", scanned, total)
	}
	if !strings.Contains(c.Log(0), "recovered partition log") {
		t.Fatalf("no recovery logged:\n%s", c.Log(0))
	}
	// The client's connection to the killed process may still be torn
	// down: ask until the new one answers.
	waitFor(t, "every acknowledged record after the crash", func() error {
		res, err := cl.Request(pid, &messages.PartitionStatusRequest{Topic: topic})
		if err != nil {
			return err
		}
		if st := res.(*messages.PartitionStatusResponse); st.LogEndOffset < sureAcked {
			t.Fatalf("log end %d after the crash, %d records were acknowledged", st.LogEndOffset, sureAcked)
		}
		return nil
	})
}

// recoveryPoint reads the recovery point the node checkpointed in dir,
// -1 when there is no checkpoint yet.
func recoveryPoint(t *testing.T, dir string) int64 {
	t.Helper()
	offsets, err := checkpoint.ReadOffsets(filepath.Join(dir, commitlog.OffsetsCheckpointFile))
	if err != nil {
		return -1
	}
	return offsets["recovery_point"]
}

// bytesFrom returns the log bytes at and after offset rp, and all of
// them, walking the batch headers of the segment files.
func bytesFrom(t *testing.T, dir string, rp int64) (after, total int64) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".log") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		total += int64(len(data))
		for pos := 0; pos < len(data); {
			h, err := batch.ParseHeader(data[pos:])
			if err != nil || pos+h.Size() > len(data) {
				after += int64(len(data) - pos) // a torn tail: recovery reads it too
				break
			}
			if h.BaseOffset >= rp {
				after += int64(h.Size())
			}
			pos += h.Size()
		}
	}
	return after, total
}
