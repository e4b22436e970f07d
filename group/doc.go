// Package group is the pure core of a Kafka consumer group coordinator
// (the classic rebalance protocol): a state machine per group, and the
// encoding of the records a coordinator keeps in __consumer_offsets.
//
// # State machine
//
// A Group moves through Kafka's states:
//
//	Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance
//	  ▲                     ▲                                            │ leader's sync
//	  │ last member gone    └──── join, leave, session expiry ───────────┤ persisted
//	  │                                                                  ▼
//	  └──────────────────────────────────────────────────────────────  Stable
//	Empty ──Delete──▶ Dead ◀──Unload── any state
//
// It takes inputs as method calls that carry the time (Join, Sync,
// Heartbeat, Leave, CommitOffsets, Tick, PersistDone, Load, Delete, Unload)
// and returns Effects for the caller to carry out; it does no I/O, has no
// goroutines and never reads the clock. The group actor owns one Group per
// group id and runs, for every message:
//
//	fx := g.Join(now, req)        // or Sync, Leave, Tick, PersistDone...
//	if fx.Persist != nil {        // append the metadata record, then
//		write(fx.Persist)         // g.PersistDone(now, fx.Persist.Generation, err)
//	}
//	for _, r := range fx.Joins { reply(pending[r.RequestID], r) }
//	for _, r := range fx.Syncs { reply(pending[r.RequestID], r) }
//	reschedule(fx.Deadline)       // a timer that calls g.Tick
//
// JoinGroup responses are held until the join phase ends: when every member
// has rejoined, or at the rebalance timeout (members that did not rejoin are
// removed). The first join of an empty group waits Config.InitialRebalanceDelay
// for more members. Members joining without an id get MEMBER_ID_REQUIRED and
// a new id first (KIP-394); static members (group instance id, KIP-345) skip
// that, and a restarted static member takes over its identity without a
// rebalance, fencing the old member id. Follower SyncGroup responses wait
// for the leader's assignments, which are persisted before anyone receives
// them. Errors are the messages package's wire errors (Kafka's codes).
//
// # Records
//
// The coordinator's durable state is a compacted log of key/value records,
// byte-compatible with Kafka's __consumer_offsets. All integers are
// big-endian; strings are an int16 length and bytes, and byte fields an
// int32 length and bytes, -1 meaning null. A key starts with its version,
// which also says what the record is:
//
//	offset commit key   version 1 (0 read): group string, topic string, partition int32
//	offset commit value version 3 (0–2 read): offset int64, leader epoch int32,
//	                    metadata string, commit timestamp int64 (Unix ms)
//	group metadata key  version 2: group string
//	group metadata value version 3 (0–2 read): see Metadata.AppendTo
//
// A record with a nil value is a tombstone: the committed offset, or the
// whole group, is deleted, and compaction eventually drops the key.
// Offset commits in a transactional batch (TxnOffsetCommit) are pending
// (PendingOffsets) until their producer's COMMIT marker, and dropped at
// its ABORT marker; Replay does the same while rebuilding.
// Decoders reject truncated input, unknown versions and trailing bytes.
package group
