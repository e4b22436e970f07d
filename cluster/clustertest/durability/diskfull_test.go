package durability

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/cluster/clustertest/workload"
	"github.com/sluice-mq/sluice/messages"
)

// mountTmpfs mounts a tmpfs of size (mount's size= option) on a new
// directory and unmounts it when the test ends (after the node it holds
// has stopped: cleanups run last-registered first). It skips the test
// only where mounting is not permitted (not root).
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		if errors.Is(err, syscall.EPERM) {
			t.Skipf("mounting a tmpfs is not permitted here (needs root): %v", err)
		}
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// TestDiskFullAnswersStorageError fills a node's data dir, a 2 MiB tmpfs,
// with acks=all produces: the produce that meets the full disk fails with
// KAFKA_STORAGE_ERROR naming the cause, later ones too, the node stays up
// (/healthz 200, with a warning, metadata answered). Once the file
// system is grown and the node restarted, every acknowledged record is
// read back at its offset and produce works again.
func TestDiskFullAnswersStorageError(t *testing.T) {
	mnt := mountTmpfs(t, "2m")
	c := clustertest.Start(t, 1, clustertest.WithDataDir(func(int) string { return filepath.Join(mnt, "data") }))
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	defer cancel()
	// Not closed: see the integration tests (the process exits after).
	cl, err := client.New(ctx, client.Config{Seeds: []string{c.Addr(0)}, RequestTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateTopic(ctx, "full", 1, 1, nil); err != nil {
		t.Fatal(err)
	}
	// Retries off: the error of the very produce that met the full disk.
	p, err := client.NewProducer(cl, client.ProducerConfig{Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	value := func(i int) string { return fmt.Sprintf("%06d-%s", i, strings.Repeat("x", 4096)) }
	acked := map[int64]string{}
	var refused error
	for i := 0; i < 2000 && refused == nil; i++ {
		_, off, err := p.Produce(ctx, &client.Record{Topic: "full", Partition: 0, Value: []byte(value(i))})
		if err != nil {
			refused = err
			break
		}
		acked[off] = value(i)
	}
	if refused == nil {
		t.Fatal("2000 records of 4 KiB fit on a 2 MiB file system")
	}
	if !errors.Is(refused, messages.ErrStorageError) || !strings.Contains(refused.Error(), "no space left on device") {
		t.Fatalf("produce on a full disk failed with %v; want KAFKA_STORAGE_ERROR naming the full disk", refused)
	}
	t.Logf("%d records acknowledged before the disk filled; then: %v", len(acked), refused)
	if _, _, err := p.Produce(ctx, &client.Record{Topic: "full", Partition: 0, Value: []byte("x")}); !errors.Is(err, messages.ErrStorageError) {
		t.Fatalf("produce to the offline log dir: %v; want KAFKA_STORAGE_ERROR", err)
	}
	code, body, err := c.HTTPGet(0, "/healthz")
	if err != nil || code != http.StatusOK || !strings.Contains(body, "offline") {
		t.Fatalf("/healthz on a full disk = %d %q, %v; want 200 with the offline dir warning", code, body, err)
	}
	if _, err := cl.Metadata(ctx); err != nil {
		t.Fatalf("metadata on a full disk: %v", err)
	}

	// Space freed: grow the file system, restart the node.
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", syscall.MS_REMOUNT, "size=64m"); err != nil {
		t.Fatalf("grow tmpfs: %v", err)
	}
	c.Restart(0)
	var log map[int64]string
	waitFor(t, "the log read back", func() error {
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		defer rcancel()
		var err error
		log, err = workload.ReadPartition(rctx, cl, "full", 0)
		return err
	})
	for off, v := range acked {
		if log[off] != v {
			t.Fatalf("offset %d after the restart holds %.10q; acknowledged %.10q", off, log[off], v)
		}
	}
	waitFor(t, "produce after the restart", func() error {
		_, _, err := p.Produce(ctx, &client.Record{Topic: "full", Partition: 0, Value: []byte("after")})
		return err
	})
}
