// Package clustertest runs real sluiced processes for integration tests:
// one process per node on free loopback ports with its own data dir, so
// nodes never share a protoactor remote (two remotes in one process race
// inside grpc under -race).
//
//	func TestMain(m *testing.M) { clustertest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		c := clustertest.Start(t, 1)
//		client := clustertest.NewClient(t)
//		resp, err := client.Request(c.NodePID(0), &messages.MetadataRequest{})
//		...
//		c.Restart(0) // same ports and data dir
//		c.Kill(1)      // SIGKILL; c.StartNode(1) brings it back
//		c.Pause(2)     // SIGSTOP: a hung node; c.Resume(2) continues it
//	}
//
// Nodes join a Consul cluster with extra flags, e.g.
// WithFlags(func(int) []string { return []string{"--consul", agent.Addr()} })
// with an agent from cluster/consul/consultest; cluster/clustertest/integration
// runs the failure scenarios that way.
//
// The sluiced binary is built once per test binary (BuildBinaries) into a
// temporary directory that Main removes. Each node's stdout and stderr go
// to a log file that is printed when the test fails. Nodes are stopped
// (SIGTERM, then SIGKILL after a grace period) in t.Cleanup.
package clustertest
