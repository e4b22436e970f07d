// Package partition is the replica actor: one per partition replica a node
// hosts, spawned by the node guardian as messages.ReplicaActorName(topic,
// partition), so any process computes its PID from metadata as
// {node address, messages.ReplicaActorID(topic, partition)}.
//
// # Behaviours
//
//	initializing --Started: open log--> leader   (State.Leader == this node)
//	                                 \-> follower (otherwise)
//	                                 \-> failed   (log cannot be opened)
//	leader <--UpdateState--> follower;  DeleteLog --> stopped
//
// The leader serves ProduceRequest, FetchRequest, ListOffsetsRequest and
// PartitionStatusRequest (messages/partition.proto) and always answers with
// the paired response, errors carried in its error_code. A produce sent
// with Send (acks=0, no sender) gets no response. The follower refuses
// client requests with NOT_LEADER_OR_FOLLOWER; replication from the leader
// is added there.
//
// # Commit and acknowledgement
//
// The high watermark (HW) is the first uncommitted offset; fetches return
// data only below it. With replication factor 1 an append is committed as
// soon as the topic's flush policy considers it written: at once with
// never, after the fsync inside Append with always, and after the node's
// group commit (commitlog.Flusher, AwaitDurable → a durable message to the
// actor) with interval. Produce responses go out when their records are
// committed, in offset order; the mailbox never waits for an fsync of the
// interval policy.
//
// # Long-poll fetches
//
// A fetch with fewer than min_bytes available and max_wait_ms > 0 is
// parked with its sender. Every HW advance wakes the parked fetches whose
// byte need is met (progress counts committed bytes, so no log read is
// needed to decide); a timer message answers the rest at max_wait_ms with
// whatever is there.
//
// # Maintenance
//
// Every RetentionCheckInterval the actor rolls an aged active segment and
// applies retention in a goroutine and continues when maintenanceDone
// arrives, so segment deletion never blocks the mailbox.
//
// # Lifecycle
//
// Stopping (and Restarting after a panic) flushes the log, answers pending
// produces and parked fetches, and closes the log, leaving the
// clean-shutdown marker; a restarted replica reopens it. The pure
// bookkeeping, progress (HW and byte counts), fetchWaitList and ackQueue,
// has no goroutines or I/O and is tested by tables.
package partition
