// Package recovery rebuilds lost cluster metadata from the replicas on a
// node's disk: the cluster id from the data dir's identity, each topic
// from the definition its replica directories record
// (identity.PartitionFileName), and each partition's leader from the
// best log among the nodes that recovered so far.
//
// Recover runs on each node as it starts with sluiced --recover-metadata.
// The store must be empty (no cluster id) or already hold this node's
// cluster id (another node recovered first); a store of another cluster
// is refused. For every local replica with a recorded topic:
//
//   - a topic missing from the store is created from the recorded
//     definition, same id, with no leader for its partitions (states are
//     only written by nodes that hold the data);
//   - a topic of the same name with another id is left alone (logged);
//   - the replica's log is opened to learn its last leader epoch and log
//     end offset. The best replica of a partition is the one with the
//     highest (last epoch, log end offset): every log is a prefix of the
//     latest leader's, so that one holds every committed record. When this
//     node's replica is better than the best one recorded under
//     recovery/<topic>/<partition> (JSON {"node","epoch","leo"}), it
//     records itself and becomes leader in a new epoch (above every epoch
//     seen) with an ISR of itself; followers catch up and rejoin the ISR.
//
// Producer ids: the rebuilt store's producer id block key
// (cluster/producerid) is raised above the highest producer id in the
// node's replicas' latest producer state snapshots and above a clock
// floor (the wall time in ms × 1000, so ids stay unique as long as fewer
// than one block of 1000 was claimed per millisecond since an earlier
// recovery); ids producers still hold are not handed out again.
//
// Start every node with --recover-metadata before producing again: a
// node that recovers later with a better log takes over the leadership,
// and records written to the earlier leader in between are truncated.
package recovery
