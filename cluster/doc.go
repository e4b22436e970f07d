// Package cluster defines how Sluice nodes agree on metadata and membership:
// the Store interface (a key/value space changed only by check-and-set and
// watched with blocking queries) and the Membership interface (live nodes and
// the controller lock).
//
// Consul is the source of truth for clusters (cluster/consul); a single node
// uses the same interfaces backed by files in its data dir (cluster/local),
// so the controller and the node guardian run the same code either way.
// Typed metadata (topics, assignments, partition state) lives in
// cluster/metadata on top of a Store.
package cluster
