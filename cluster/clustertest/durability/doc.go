// Package durability holds single-node process tests of what a node does
// when its process dies or its clients outrun its disk: a real sluiced
// (cluster/clustertest) SIGKILLed under load recovers by verifying only
// what was written after its last recovery-point checkpoint, and one
// flooded by producers with flush.policy=always and thousands of long
// polls keeps its memory bounded and its /healthz answering.
//
//	go test ./cluster/clustertest/durability/
package durability
