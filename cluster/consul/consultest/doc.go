// Package consultest runs a real Consul dev agent for tests, on loopback
// and free ports only:
//
//	agent := consultest.Start(t) // skips (or fails with SLUICE_REQUIRE_CONSUL=1) without a consul binary
//	store, err := consul.NewStore(consul.Config{Address: agent.Addr()})
//	...
//	agent.Restart() // same ports, empty state: an agent that lost everything
//	agent.Stop()    // Consul down until the next Restart
//
// The binary is looked up by Binary; `make consul` provides it. The agent
// logs to a file whose tail is printed when the test fails, and is killed
// on test cleanup.
package consultest
