// Package node is the guardian actor of a Sluice node, spawned as
// messages.NodeActorID. It owns the node's configuration and data dir and
// hosts one replica actor (actors/partition) per partition the metadata
// assigns to the node, named messages.ReplicaActorName(topic, partition).
//
// # Metadata
//
// The guardian starts from Config.Initial and watches the metadata store
// and the membership in two goroutines it owns; they post snapshots and
// member lists to the actor (Root.Send) and end when the actor stops. Each
// snapshot is reconciled: new partitions get a replica, topic config and
// partition state changes are pushed as UpdateConfig and UpdateState. A
// replica the metadata no longer wants has its data deleted only on a
// recorded delete: its topic id has a delete record
// (metadata.DeletedTopic), or its topic, same id, no longer lists this
// node for the partition (a finished reassignment). Then the replica
// stops and a goroutine the guardian owns renames its directory
// <dir>.<topic id>-delete and removes it Config.FileDeleteDelay later
// (leftovers found at start: after the delay from the start); the
// partition is not hosted again until the rename is done. Otherwise it only
// stops and its directory is kept, logged and counted (Config.KeptDirs),
// and no replica of another topic incarnation is spawned over it. A
// partition is not respawned while its old actor still runs. On the first
// snapshot every partition directory in the data dir is checked by the
// topic id it records (identity.PartitionFileName): a recorded delete
// marks it deleted as above; a directory the metadata does not assign to
// the node, or of another incarnation of a hosted topic, is kept and
// reported, never removed.
//
// # Requests
//
// Admin requests (messages/admin.proto): Metadata is answered from the
// current view; CreateTopic, DeleteTopic, CreatePartitions and
// AlterConfigs run on the node that receives them, through
// cluster/controller in a goroutine, and are answered via ReenterAfter,
// after the node applied the snapshot that contains its own write (so a
// created topic's replicas exist here when the response arrives). They
// are not forwarded to the controller: every metadata write is a
// check-and-set, so concurrent admin requests on several nodes and the
// controller's elections cannot overwrite each other, and admin requests
// keep working while the controller role moves between nodes.
//
// # Cluster
//
// The guardian spawns the controller loop (actors/controller) as its child
// "controller": it competes for the controller lock and, while it holds
// it, elects leaders when members leave or return. The guardian learns
// the controller from that child (RoleChanged, at once) and by reading the
// lock's holder every ControllerPollInterval. Its watches of the metadata,
// the members and the controller retry with backoff while the store or
// Consul is unavailable; replicas keep serving their current roles
// meanwhile. Live members' addresses are published in a Directory, which
// replicas use to reach their peers (Directory.Peer).
//
// InitProducerId without a transactional id (messages/producer.proto) is
// answered by any node: a fresh producer id at epoch 0 from the node's
// block of ids, claimed by check-and-set in the store (cluster/producerid)
// in a goroutine while requests wait in a bounded queue; an idempotent
// producer sending its id and epoch gets the epoch bumped (KIP-360), or a
// fresh id once the epoch is exhausted.
//
// # Log dir failure
//
// Every replica's log reports its failure (a write, fsync, rename or
// delete error, or an I/O error opening it) to the guardian, which takes
// the data dir offline on the first one (logdir.go): each replica gets
// LogDirOffline and answers KAFKA_STORAGE_ERROR from then on, replicas
// spawned later start offline, the offline dir is published in LogDirs
// and recorded under metadata.LogDirsPrefix (written in a goroutine,
// retried until stored), where the controller reads it and treats the
// node like a dead one. Only a restart brings the dir back.
//
// Consumer group requests (messages/group.proto) go to the group Host
// (actors/group), which answers FindCoordinator and forwards the rest to
// group coordinator children. Transaction requests (messages/txn.proto,
// FindCoordinator with key type TRANSACTION and InitProducerId with a
// transactional id) go to the transaction Host (actors/txn) first, which
// forwards them to transaction coordinator children; the Host is told of
// every new metadata snapshot, to follow the node's leadership of
// __transaction_state.
//
// Partition requests sent to the guardian are forwarded to the hosted
// replica, or answered with UNKNOWN_TOPIC_OR_PARTITION (or
// NOT_LEADER_OR_FOLLOWER for a partition hosted elsewhere). Requests sent
// straight to a replica PID that does not exist produce a dead letter at
// the sender (actor.ErrDeadLetter from a future): clients treat it like
// UNKNOWN_TOPIC_OR_PARTITION and refresh metadata.
//
// # Supervision and shutdown
//
// Replicas are supervised one-for-one: a replica that panics restarts (its
// log closed and reopened) up to 10 times in 10 s. Drain poisons every
// replica, so each serves what is queued, answers pending produces and
// parked fetches, flushes and closes its log; it returns when all stopped.
package node
