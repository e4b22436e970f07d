// Package group is the consumer group coordinator of a node: the Host that
// routes group requests arriving at the node guardian, and one coordinator
// actor per group, a thin shell over the state machine in package
// github.com/sluice-mq/sluice/group (imported here as core).
//
// # Routing
//
// Clients send group requests (messages/group.proto) to a node guardian.
// The guardian calls Host.Handle with its current cluster view:
//
//	FindCoordinator  answered from the view: the live leader of
//	                 __consumer_offsets partition
//	                 abs(javaHash(group)) % partitions (Kafka's rule). The
//	                 first request creates the topic (compacted, 50
//	                 partitions by default) through the controller and gets
//	                 COORDINATOR_NOT_AVAILABLE until the metadata has it.
//	Join, Sync,      forwarded, sender kept, to the group's actor
//	Heartbeat, Leave, (node/group/<group>, spawned on first use) if this
//	OffsetCommit,    node leads the group's partition; NOT_COORDINATOR
//	OffsetFetch      otherwise. An Activate{partition, epoch} precedes each
//	                 forwarded request.
//	Describe, Delete split by group; each actor answers for its group and
//	                 the Host combines the answers (ReenterAfter, no
//	                 blocking).
//	ListGroups       a short-lived lister actor scans the partitions this
//	                 node leads and asks the live actors for their state.
//
// # Coordinator actor
//
//	unassigned --Activate--> loading --log read to HW--> loaded
//	loaded --Activate with a new partition or epoch--> loading
//	loaded --append refused as not leader--> unassigned
//
// Loading asks the local replica of the partition for its bounds and
// fetches from the log start to the high watermark, one continuation per
// step, replaying the group's records (core.Replay); requests meanwhile
// get COORDINATOR_LOAD_IN_PROGRESS. Loaded, the actor feeds each request
// to core.Group and carries out the Effects: held JoinGroup and SyncGroup
// responses go to the stored senders, one timer (replaced on every new
// Deadline) calls Tick, and metadata records are appended with a
// ProduceRequest (acks=all, the partition's leader epoch) whose answer
// comes back through ReenterAfter and PersistDone. Offset commits are
// validated by the state machine, appended the same way, and applied to
// the actor's offset map when the replica acknowledges them; OffsetFetch
// reads that map. Every OffsetsRetentionCheckInterval the offsets of a
// group Empty for OffsetsRetention are tombstoned (and the group with
// them when none is left), as Kafka's offsets.retention.minutes does.
// Nothing in Receive blocks.
package group
