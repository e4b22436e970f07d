// Package identity records which cluster and node a data directory
// belongs to, and keeps a second process off it.
//
// # meta.properties
//
// At its first start a node writes <data>/meta.properties, a text file in
// the style of Kafka's:
//
//	# Sluice node identity; do not edit.
//	version=1
//	cluster.id=<32 hex>
//	node.id=<decimal>
//
// Lines are key=value; blank lines and lines starting with '#' are
// ignored. version must be 1, cluster.id non-empty, node.id a decimal
// int32; a missing key, a repeated key, an unknown version or a line
// without '=' makes Read fail with ErrCorrupt (the error names the file).
// Unknown keys are ignored, for later versions.
//
// Write never modifies the file in place: it writes
// "meta.properties.<random>.tmp" in the same directory, fsyncs it, renames
// it over meta.properties and fsyncs the directory. After a crash the file
// holds the old or the new identity, never a mix; Read ignores and removes
// a leftover temporary file.
//
// # Start-up check
//
// Check compares the data dir's identity with the cluster id found in the
// metadata store and decides whether the node may start: a node that
// belongs to a cluster refuses a store without that cluster's id (it lost
// its contents, or --consul points elsewhere) rather than reconciling
// against it, which would treat every local replica as unassigned. Only a
// data dir without identity may create a cluster id.
//
// # partition.metadata
//
// Each replica directory records its topic's definition as the metadata
// held it (WritePartition): JSON {"version":1,"topic":<metadata.Topic>},
// replaced atomically like meta.properties (a leftover temporary file is
// never read and is removed by the next write). cluster/recovery reads it to
// rebuild a lost metadata store.
//
// # Lock
//
// Lock takes an exclusive advisory lock (flock) on <data>/.lock for the
// life of the process; a second process on the same data dir fails with
// ErrLocked naming the lock file.
package identity
