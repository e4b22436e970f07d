// Package txnstate is the pure core of a Kafka transaction coordinator
// (KIP-98): a state machine per transactional id, and the encoding of the
// records a coordinator keeps in __transaction_state.
//
// # State machine
//
// A Txn moves through Kafka's states:
//
//	         InitProducerId (epoch+1)
//	Empty ◀──────────────────────────── CompleteCommit, CompleteAbort
//	  │ AddPartitions                          ▲ every marker written
//	  ▼                                        │
//	Ongoing ──EndTxn(commit)──▶ PrepareCommit ─┤
//	  │  └────EndTxn(abort)───▶ PrepareAbort ──┘
//	  │                           ▲
//	  └─InitProducerId, timeout───┘ (epoch+1: PrepareEpochFence, persisted as PrepareAbort)
//	Empty, CompleteCommit, CompleteAbort ──transactional.id.expiration──▶ Dead (tombstone)
//
// It takes inputs as method calls that carry the time (InitProducerID,
// AddPartitions, EndTxn, PersistDone, MarkerWritten, Tick, Load, Unload)
// and returns Effects for the caller to carry out; it does no I/O, has no
// goroutines and never reads the clock. Every transition is first
// persisted: the call returns Effects.Persist, the state is unchanged, and
// only PersistDone of a successful write applies it and answers the
// request. At most one write is outstanding; requests meanwhile get
// CONCURRENT_TRANSACTIONS, which producers retry. The coordinator actor
// runs, for every message:
//
//	fx := t.EndTxn(now, req)      // or AddPartitions, InitProducerID, Tick...
//	if fx.NeedProducerID { allocate, then t.InitProducerID(now, req, id) }
//	if fx.Persist != nil { write it with acks=all, then t.PersistDone(now, seq, err) }
//	for _, r := range fx.Replies { reply(pending[r.RequestID], r) }
//	if fx.Markers != nil { for each partition: write the marker until it is, then t.MarkerWritten(now, p) }
//	reschedule(fx.Deadline)       // a timer that calls t.Tick
//
// A decided transaction (PrepareCommit, PrepareAbort) is answered once the
// decision is persisted; its markers are written after. A coordinator that
// loads such a state (Load) writes the markers again and completes it, so
// a commit survives the coordinator's failover. Errors are the messages
// package's wire errors (Kafka's codes).
//
// # Records
//
// The durable state is a compacted log of key/value records,
// byte-compatible with Kafka's __transaction_state. Integers are
// big-endian; strings are an int16 length and bytes:
//
//	key   version 0: version int16 (0), transactional id string
//	value version 0 (1 read): see Metadata.AppendTo
//
// Version 1 values (flexible: compact strings and arrays, tagged fields)
// are read with their tagged fields skipped. A record with a nil value is
// a tombstone: the transactional id expired. Decoders reject truncated
// input, unknown versions, unknown states and trailing bytes.
package txnstate
