// Package e2e tests the client and the sluice command end to end against
// real sluiced processes started by cluster/clustertest. The test binary
// runs one actor remote of its own, the client's; brokers and CLI runs are
// separate processes.
//
//	go test -race ./client/e2e/
package e2e
