// Package partition is the replica actor: one per partition replica a node
// hosts, spawned by the node guardian as messages.ReplicaActorName(topic,
// partition), so any process computes its PID from metadata as
// {node address, messages.ReplicaActorID(topic, partition)}.
//
// # Behaviours
//
//	initializing --Started: open log--> leader   (State.Leader == this node)
//	                                 \-> follower (otherwise)
//	                                 \-> failed   (log cannot be opened, or Config.Offline)
//	leader <--UpdateState--> follower;  DeleteLog --> stopped
//	leader, follower --LogDirOffline--> failed (log failed and closed)
//
// In failed every request is answered with KAFKA_STORAGE_ERROR. After
// LogDirOffline (the node's log dir failed, see actors/node) the log is
// failed before the waiting produces and parked fetches are answered, and
// it is never reopened: the node must restart.
//
// The leader serves ProduceRequest, FetchRequest, ListOffsetsRequest and
// PartitionStatusRequest (messages/partition.proto) and always answers with
// the paired response, errors carried in its error_code. A produce sent
// with Send (acks=0, no sender) gets no response. The follower refuses
// client requests with NOT_LEADER_OR_FOLLOWER (fetching from followers is
// not supported) and appends what its leader pushes.
//
// Producer state (producers.go, storage/producerstate): the leader checks
// the batches of idempotent and transactional producers before appending
// (a duplicate is answered with its original offsets, nothing appended)
// and every replica applies what it appends, so the state follows the
// log on every replica. Snapshots are written at segment rolls by a
// goroutine (snapshotter.go) and at a clean close; a follower's
// truncation drops the snapshots above its point and rebuilds the state
// in the same disk operation. WriteTxnMarkerRequest (txnmarker.go)
// appends a transaction coordinator's COMMIT or ABORT control batch as
// an acks=all produce.
//
// # Replication
//
// The replica drives the pure replication core (package replication) and
// carries out its effects; see that package for the protocol. Replicas of
// other nodes are reached through Config.Peer (the node's member
// directory: {address, messages.ReplicaActorID}), so the same code runs
// across processes over protoactor remote.
//
// Leader: every append calls Leader.OnAppend; each Push is read from the
// log (or, on the hot path, taken from the appended bytes) and sent as a
// ReplicateRequest with Request, so the follower's ReplicateResponse comes
// back to the leader and is matched by seq. A tick (Config.ReplicationTick)
// runs OnTick: ISR shrink by lag, lost pushes, probes and heartbeats. ISR
// changes are written to Config.Store by check-and-set in a goroutine
// (read the state, check leader, epoch and ISR are the ones the proposal
// was made from, CAS), the outcome posted back as a message. The leader
// answers OffsetsForLeaderEpochRequest from its log.
//
// Follower: on taking up an epoch it asks the leader where its latest
// epoch ends (RequestFuture + ReenterAfter, never blocking the mailbox),
// truncates as the core decides, announces its log end offset (a seq 0
// ReplicateResponse), then appends pushes with AppendReplicated (batch
// epochs enter the leader-epoch cache as they are appended) and answers
// each with its log end offset and high watermark. Pushes of an older
// epoch are refused with FENCED_LEADER_EPOCH.
//
// Client requests (produce, fetch, list-offsets) carry the leader epoch
// the client's metadata names, -1 when it knows none (Kafka's KIP-320).
// The replica compares it with its own first, leader or not: an older one
// is refused with FENCED_LEADER_EPOCH (the client's metadata is stale), a
// newer one with UNKNOWN_LEADER_EPOCH (this replica has not taken the
// epoch up yet); both leave the log untouched, and the client refreshes
// its metadata and retries. A follower answers a request that passes with
// NOT_LEADER_OR_FOLLOWER. A fetch parked in an epoch that ends while the
// replica stays leader is answered FENCED_LEADER_EPOCH at once.
//
// A new leader epoch in UpdateState restarts the role: a leader resigns
// (waiting acks=all produces fail with NOT_LEADER_OR_FOLLOWER), a new
// leader records the epoch at its log end and starts a core with the
// metadata's ISR and the checkpointed high watermark. An ISR change in the
// same epoch (the controller dropping a dead follower) is applied to the
// running core. States older (by store version) than one seen are ignored.
//
// # Commit and acknowledgement
//
// The high watermark (HW) is the first uncommitted offset; fetches return
// data only below it. It is the smaller of the core's HW (the smallest log
// end offset over the ISR) and the leader's durable end: the offset below
// which its log is written as the topic's flush policy requires: at once
// with never; with interval after the node's group commit, with always
// after an fsync the Flusher starts at once (commitlog.WithSyncHandoff);
// both report through AwaitDurable → a durable message to the actor. With replication factor 1 the HW is the
// durable end. An acks=1 response goes out at the durable end; an acks=all
// response when the core completes it (HW past its records, or an error:
// NOT_ENOUGH_REPLICAS_AFTER_APPEND, REQUEST_TIMED_OUT after timeout_ms)
// and the durable end passed it too. acks=all is refused with
// NOT_ENOUGH_REPLICAS before the append while the ISR is smaller than
// min.insync.replicas. The mailbox never waits for an fsync. While the
// produces awaiting an answer hold more than Limits.MaxPendingProduceBytes
// of records, new ones are refused before the append with the retriable
// REQUEST_TIMED_OUT (back-pressure).
//
// # Long-poll fetches
//
// A fetch with fewer than min_bytes available and max_wait_ms > 0 is
// parked with its sender. Every HW advance wakes the parked fetches whose
// byte need is met (progress counts committed bytes, so no log read is
// needed to decide); a timer message answers the rest at max_wait_ms
// (capped at Limits.MaxFetchWait) with whatever is there. At most
// Limits.MaxParkedFetches are parked; a fetch beyond that is answered at
// once with what there is. A CancelFetch answers a parked fetch at once,
// without records.
//
// # File-range fetches
//
// A FileFetchRequest, sent in-process by the Kafka listener, is served as
// a FetchRequest is (epoch check, parking, the high watermark or the last
// stable offset, aborted transactions) but its batches are answered as a
// segment.Range, a file range with a descriptor of its own, in a
// FileFetchResponse, for the listener to send with sendfile. It never
// comes over the remote: it has no wire form.
//
// # Disk work off the mailbox
//
// A follower's truncation to its leader's log (cut, fsync, deleted
// segments) and the restart of its log at the leader's log start run in a
// goroutine (diskop.go); a truncated or restarted message finishes them.
// Meanwhile pushes go unanswered (the leader resends) and UpdateState,
// UpdateConfig and DeleteLog are held until it is done.
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
// bookkeeping, progress (HW and byte counts), fetchWaitList, ackQueue and
// allAckList, has no goroutines or I/O and is tested by tables.
package partition
