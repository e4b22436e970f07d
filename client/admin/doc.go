// Package admin builds the views and plans that both the sluice CLI and
// the web console show, from the actor client's calls: the cluster summary
// and each node's registration and log dirs, a consumer group's lag per
// partition, and the plan (and commit) of an offset reset.
package admin
