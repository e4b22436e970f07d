// Package replication is the replication state machine of a partition:
// the bookkeeping a leader replica keeps about its followers and the
// decisions a follower replica takes about the leader's pushes. It has no
// goroutines, does no I/O and imports no actor code; the replica actor
// (actors/partition) feeds it events and carries out the effects it
// returns, as etcd's raft RawNode is driven by its application.
//
// # Model
//
// Kafka's semantics with pushes instead of fetches. The leader pushes
// appended record batches to each follower (messages.ReplicateRequest),
// pipelined under a credit window per follower: at most MaxInflightPushes
// pushes and MaxInflightBytes bytes (plus less than one batch) are
// unacknowledged. A follower appends a push only when it starts exactly at
// its log end offset (LEO) and otherwise answers with its LEO, from which
// the leader resends; a follower far behind is caught up from the leader's
// log, push by push. Acks carry the push's sequence number: answers to
// abandoned or superseded pushes are ignored, so acks that arrive late or
// out of order never move a follower's LEO back.
//
// The high watermark (HW) is the smallest LEO over the ISR, counting only
// followers that answered in the current epoch, and never moves back.
// acks=all produces complete when the HW passes their last offset, with
// NOT_ENOUGH_REPLICAS_AFTER_APPEND when the ISR is by then smaller than
// min.insync.replicas; CheckProduce refuses them before the append with
// NOT_ENOUGH_REPLICAS.
//
// An in-sync follower that has not caught up to the leader's LEO for
// ReplicaLagTime (Kafka's lastCaughtUpTime) is removed from the ISR; one
// whose LEO reaches the HW and the start of the leader's epoch is added.
// ISR changes are proposals (Effects.ISRChange): the actor writes them by
// CAS to the metadata store and reports OnISRChangeApplied or
// OnISRChangeFailed. While a change is pending the HW respects the union
// of the applied and the proposed ISR (Kafka's maximal ISR).
//
// A new follower first asks the leader where its latest epoch ends
// (messages.OffsetsForLeaderEpochRequest) and truncates to the smaller of
// that and its own end of the epoch; when the leader answers with an older
// epoch the follower cuts after its own copy of it and asks again (KIP-101,
// KIP-279). It refuses pushes until then and finally announces its LEO
// with an unsolicited ReplicateResponse (seq 0).
//
// # Leader side
//
//	l := replication.NewLeader(cfg, self, epoch, replicas, isr, log.LogEndOffset(), log.HighWatermark())
//	do(l.OnTick(now))                              // probes the followers
//	if err := l.CheckProduce(acks); err != nil { ... refuse ... }
//	info, _ := log.Append(records, epoch)
//	do(l.OnAppend(info.LastOffset, now))
//	do(l.AddPendingProduce(id, info.LastOffset, acks, deadline))
//	do(l.OnReplicateAck(resp, now))                // each ReplicateResponse
//	do(l.OnTick(now))                              // every fraction of RetryInterval
//
// where do sends every Effects.Sends push (reading the log from Push.From
// and calling Leader.Sent, which may return the next push for the same
// follower), answers Effects.Completed, persists Effects.ISRChange and
// publishes Effects.HW. OffsetsForLeaderEpoch requests are answered by
// Leader.AnswerEpochQuery from the log.
//
// On the hot path a push usually starts exactly at the first offset of the
// append that caused it; the actor can then send the appended bytes it
// already holds instead of reading them back, as long as they fit in
// Push.MaxBytes. The actor fills in topic, partition and leader_log_start
// of each ReplicateRequest; the Leader only decides offsets and credit.
//
// A Leader trusts that its log holds everything it had in its epoch. A
// replica that restarts with a shorter log (an unflushed tail lost) must
// not lead the same epoch again: the controller elects it, if at all, in a
// new epoch, as Kafka's does. A follower reporting more than the leader
// has is never counted.
//
// # Follower side
//
//	f, eff := replication.NewFollower(self, leader, epoch, log.LogEndOffset(), log.HighWatermark(), log.LatestEpoch())
//	// eff.Query → send; its answer → f.OnEpochEndOffset(resp, log)
//	// eff.Truncate → log.TruncateTo(eff.TruncateTo); eff = f.Truncated(log.LogEndOffset(), log.LatestEpoch())
//	// eff.Announce → send to the leader
//	d := f.OnPush(req)                            // each ReplicateRequest
//	// d.Append → log.AppendReplicated(req.Records) (after
//	//   log.TruncateFullyAndStartAt(d.StartAt) when d.StartAt >= 0);
//	//   resp, _ := f.Appended(req, log.LogEndOffset())
//	// else send d.Response
//	// then log.SetHighWatermark(f.HW()); fill in resp.LogStart
//
// A new leader epoch means a new Leader or Follower: on UpdateState the
// actor resigns the Leader (failing its waiting produces) and starts over.
package replication
