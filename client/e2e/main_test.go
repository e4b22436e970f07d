package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newClient connects to the cluster. Tests create clients one after the
// other, never two at a time, so the process has one remote at a time.
func newClient(t *testing.T, c *clustertest.Cluster) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := client.New(ctx, client.Config{Seeds: []string{c.Addr(0)}, RequestTimeout: 5 * time.Second,
		RetryBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close(context.Background()) })
	return cl
}

var cli struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// sluiceBinary builds cmd/sluice once, next to the harness's sluiced.
func sluiceBinary(t *testing.T) string {
	t.Helper()
	cli.once.Do(func() {
		cli.path = filepath.Join(clustertest.BuildBinaries(t), "sluice")
		cli.out, cli.err = exec.Command("go", "build", "-o", cli.path, "github.com/sluice-mq/sluice/cmd/sluice").CombinedOutput()
	})
	if cli.err != nil {
		t.Fatalf("build sluice: %v\n%s", cli.err, cli.out)
	}
	return cli.path
}
