// Package producerid hands out cluster-unique producer ids in blocks
// claimed by check-and-set in the metadata store (Kafka's KIP-730).
//
// One key holds the latest claimed block; the next block starts where it
// ends. A node claims a block of DefaultBlockSize ids with Claim (read the
// key, CAS the next block in; a lost CAS re-reads and retries), hands the
// ids out from memory and claims the next block when the current one runs
// low. A node never writes a block back and never persists its block
// locally: after a restart it claims a fresh one, so an id is never handed
// out twice, whichever node is the controller and however often nodes
// restart. Ids a node held unused when it stopped are skipped for good.
//
// # Key
//
//	producer-ids/block   Block as JSON, the latest claimed block:
//	    {"node_id":2,"start":3000,"size":1000}   ids 3000..3999, claimed by node 2
//
// A missing key means no block was ever claimed: the first block starts at
// 0. Ids stay below 2^63-1; a store whose next block would pass it yields
// ErrExhausted.
//
// Allocator is the pure state a node keeps (current block, a prefetched
// spare, whether a claim is running); the node's actor runs Claim off its
// mailbox and reports the result back, so requests never wait on the
// store inside the actor.
package producerid
