package clustertest

import (
	"testing"

	"github.com/sluice-mq/sluice/messages"
)

func TestMain(m *testing.M) { Main(m) }

func TestClusterStartStopRestartKill(t *testing.T) {
	c := Start(t, 2, WithFirstNodeID(5), WithFlags(func(i int) []string { return []string{"--log-level", "debug"} }))
	cl := NewClient(t)
	for i := range c.Len() {
		md := Request[*messages.MetadataResponse](t, cl, c.NodePID(i), &messages.MetadataRequest{})
		if len(md.Brokers) != 1 || md.Brokers[0].NodeId != int32(5+i) || md.Brokers[0].Address != c.Addr(i) {
			t.Fatalf("node %d metadata brokers %v", i, md.Brokers)
		}
	}
	c.Restart(0)
	if code := c.Node(0).ExitCode(); code != -1 {
		t.Fatalf("restarted node reports exit code %d while running", code)
	}
	c.Kill(1)
	if code := c.Node(1).ExitCode(); code != -1 {
		t.Fatalf("killed node exit code %d, want -1 (signal)", code)
	}
	c.StartNode(1)
	if err := c.Stop(1); err != nil || c.Node(1).ExitCode() != 0 {
		t.Fatalf("SIGTERM: %v, exit code %d", err, c.Node(1).ExitCode())
	}
}
