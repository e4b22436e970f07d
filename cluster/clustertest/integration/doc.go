// Package integration holds the multi-process cluster tests: three real
// sluiced processes (cluster/clustertest) joined through one real Consul
// dev agent (cluster/consul/consultest), driven by the Go client. They
// check what Sluice promises under failures: acknowledged acks=all records
// survive leader crashes at their partition and offset, the controller
// role moves when its node dies, a partition refuses acks=all below
// min.insync.replicas, a paused ("stale") leader cannot acknowledge
// acks=all records, and nodes keep serving across a Consul agent restart.
//
// The test process runs exactly one client remote (a second would race
// inside grpc under -race), so the scenarios run in order on one cluster,
// each leaving every node up and in sync for the next. Without a consul
// binary the tests are skipped (SLUICE_REQUIRE_CONSUL=1 fails them
// instead); `make consul` fetches one.
//
//	go test -race ./cluster/clustertest/integration/
package integration
