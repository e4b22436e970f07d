// Package txn is the transaction coordinator of a node: the Host that
// routes transaction requests arriving at the node guardian, and one
// coordinator actor per transactional id, a thin shell over the state
// machine in package txnstate.
//
// # Routing
//
// Clients send transaction requests (messages/txn.proto, and
// InitProducerId with a transactional id from messages/producer.proto) to
// a node guardian. The guardian calls Host.Handle with its current view:
//
//	FindCoordinator    (key type TRANSACTION) answered from the view: the
//	                   live leader of __transaction_state partition
//	                   abs(javaHash(id)) % partitions. The first request
//	                   creates the topic (compacted, 50 partitions) through
//	                   the controller and gets COORDINATOR_NOT_AVAILABLE
//	                   until the metadata has it.
//	InitProducerId,    forwarded, sender kept, to the id's actor
//	AddPartitionsToTxn, (node/txn/<id>, spawned on first use) if this node
//	AddOffsetsToTxn,   leads the id's partition; NOT_COORDINATOR otherwise.
//	EndTxn             An Activate{partition, epoch} precedes each. Unknown
//	                   partitions are refused by the Host
//	                   (UNKNOWN_TOPIC_OR_PARTITION); AddOffsetsToTxn is
//	                   turned into the group's __consumer_offsets partition.
//	Describe           split by id; each actor answers for its id.
//	List               a short-lived lister scans the partitions this node
//	                   leads.
//
// Host.Reconcile, called on every view change, scans each partition the
// node starts leading and activates the ids with a transaction in
// progress, so a decided transaction is completed and an open one times
// out although no client asks.
//
// # Coordinator actor
//
//	unassigned --Activate--> loading --log read to HW--> loaded
//	loaded --Activate with a new partition or epoch--> loading
//	loaded --append refused as not leader--> unassigned
//
// Loading reads the id's records from its partition (as the group actors
// do) and installs them with txnstate.Txn.Load. Loaded, the actor feeds
// each request to the state machine and carries out the Effects: a
// record is appended with a ProduceRequest (acks=all, the partition's
// leader epoch) whose answer comes back through ReenterAfter and
// PersistDone, and only then is the request answered; a fresh producer id
// comes from the node guardian (an InitProducerIdRequest without a
// transactional id, served from the node's block of ids); markers are
// written through the MarkerWriter, each retried until written; one timer
// (replaced on every new Deadline) calls Tick for transaction timeouts and
// id expiry. Nothing in Receive blocks.
package txn
