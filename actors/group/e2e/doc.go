// Package e2e tests consumer groups end to end: group consumers of the
// client package, and the sluice group commands, against real sluiced
// processes started by cluster/clustertest. The test binary runs one
// actor remote, its client's; every consumer of a test shares it.
package e2e
