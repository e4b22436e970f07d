package replication

import (
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/epochcache"
)

// Follower is the replication bookkeeping of a follower replica for one
// leader epoch. It first finds where its log diverges from the leader's
// (OffsetsForLeaderEpoch, KIP-101/KIP-279) and truncates there; only then
// does it accept pushes, and only from its leader in its epoch, appending
// a push exactly at its log end offset. It has no goroutines and does no
// I/O; it is not safe for concurrent use. A new epoch needs a new
// Follower.
//
// Owned by the replica actor; never touched outside Receive.
type Follower struct {
	self, leader, epoch int32
	// Invariant: hw <= leo.
	leo, hw int64
	// truncating is true until the divergence point is found and cut;
	// pushes are refused meanwhile. query is the outstanding
	// OffsetsForLeaderEpoch question.
	truncating bool
	query      Query
	// truncateTo is the offset of a truncation handed to the actor and not
	// yet reported by Truncated; final tells whether it ends the search.
	truncateTo int64
	final      bool
}

// Query asks the leader where RequestedEpoch ends in its log; the actor
// sends it as an OffsetsForLeaderEpochRequest with leader_epoch =
// LeaderEpoch.
type Query struct {
	LeaderEpoch    int32
	RequestedEpoch int32
}

// FollowerEffects is what a Follower asks its actor to carry out.
type FollowerEffects struct {
	// Truncate asks for log.TruncateTo(TruncateTo), then a call to
	// Truncated with the resulting log end offset and latest epoch, which
	// returns the effects that follow.
	Truncate   bool
	TruncateTo int64
	// Query, when set, is to be sent to the leader; its answer goes to
	// OnEpochEndOffset.
	Query *Query
	// Announce, when set, is to be sent to the leader: truncation is done
	// and pushes may start at Announce.Leo.
	Announce *messages.ReplicateResponse
	// RefreshMetadata reports that the leader disagrees about the epoch:
	// the actor should refresh its metadata and, while this Follower
	// stands, resend PendingQuery after a pause.
	RefreshMetadata bool
}

// NewFollower starts the bookkeeping of node self following leader in
// epoch, its log ending at leo with high watermark hw and latestEpoch the
// newest epoch in its leader-epoch cache (-1 if none). It returns the
// first step of the truncation: a query for latestEpoch, or, without any
// epoch, a truncation to the high watermark (Kafka's fallback).
func NewFollower(self, leader, epoch int32, leo, hw int64, latestEpoch int32) (*Follower, FollowerEffects) {
	f := &Follower{self: self, leader: leader, epoch: epoch, leo: leo, hw: min(max(hw, 0), leo), truncating: true}
	if latestEpoch == epochcache.Undefined {
		return f, f.truncate(f.hw, true)
	}
	return f, f.ask(latestEpoch)
}

// Epoch is the leader epoch the follower is in.
func (f *Follower) Epoch() int32 { return f.epoch }

// Leader is the node id of the leader.
func (f *Follower) Leader() int32 { return f.leader }

// LEO is the follower's log end offset as it knows it.
func (f *Follower) LEO() int64 { return f.leo }

// HW is the follower's high watermark: the smaller of the leader's (as
// last pushed) and its own log end offset. It never decreases except by
// truncation.
func (f *Follower) HW() int64 { return f.hw }

// Truncating reports whether the divergence search is still running.
func (f *Follower) Truncating() bool { return f.truncating }

// PendingQuery returns the outstanding OffsetsForLeaderEpoch question, to
// be sent again when its answer was lost or an error; ok is false when
// none is outstanding.
func (f *Follower) PendingQuery() (q Query, ok bool) {
	if !f.truncating || f.truncateTo >= 0 {
		return Query{}, false
	}
	return f.query, true
}

func (f *Follower) ask(epoch int32) FollowerEffects {
	f.query = Query{LeaderEpoch: f.epoch, RequestedEpoch: epoch}
	f.truncateTo = -1
	q := f.query
	return FollowerEffects{Query: &q}
}

// truncate hands the actor a truncation to offset (capped at the log end);
// final says whether the search ends with it.
func (f *Follower) truncate(offset int64, final bool) FollowerEffects {
	f.truncateTo, f.final = min(max(offset, 0), f.leo), final
	return FollowerEffects{Truncate: true, TruncateTo: f.truncateTo}
}

// OnEpochEndOffset handles the leader's answer to the outstanding query,
// as Kafka's AbstractFetcherThread does:
//
//   - the leader cannot tell (end offset -1): truncate to the high
//     watermark;
//   - the leader has no epoch (-1) but an end offset: truncate to it;
//   - the leader's epoch is one the follower also has: truncate to the
//     smaller of both ends of that epoch; done;
//   - otherwise truncate to the end of the follower's largest epoch below
//     the leader's and ask again about that epoch (KIP-279).
//
// Each truncation is capped at the follower's log end offset. An error
// answer leaves the query outstanding and asks for a metadata refresh.
func (f *Follower) OnEpochEndOffset(resp *messages.OffsetsForLeaderEpochResponse, local EpochEnds) FollowerEffects {
	if !f.truncating || f.truncateTo >= 0 {
		return FollowerEffects{}
	}
	if resp.ErrorCode != messages.ErrorCode_NONE {
		return FollowerEffects{RefreshMetadata: true}
	}
	switch {
	case resp.EndOffset == epochcache.Undefined:
		return f.truncate(f.hw, true)
	case resp.LeaderEpoch == epochcache.Undefined:
		return f.truncate(resp.EndOffset, true)
	}
	epoch, end := local.EndOffsetForEpoch(resp.LeaderEpoch)
	switch {
	case epoch == epochcache.Undefined || end == epochcache.Undefined:
		return f.truncate(resp.EndOffset, true)
	case epoch != resp.LeaderEpoch:
		// The follower never saw the leader's epoch: cut after its own
		// largest epoch below it and ask about that one.
		f.query.RequestedEpoch = epoch
		return f.truncate(end, false)
	default:
		return f.truncate(min(end, resp.EndOffset), true)
	}
}

// Truncated reports that the truncation asked for is done: the log now
// ends at leo and its newest epoch is latestEpoch. It returns the next
// query, or the announcement that ends the search.
func (f *Follower) Truncated(leo int64, latestEpoch int32) FollowerEffects {
	if f.truncateTo < 0 {
		return FollowerEffects{}
	}
	f.leo = leo
	f.hw = min(f.hw, leo)
	if !f.final && latestEpoch != epochcache.Undefined {
		return f.ask(min(latestEpoch, f.query.RequestedEpoch))
	}
	f.truncating = false
	f.truncateTo = -1
	return FollowerEffects{Announce: f.response(0, messages.ErrorCode_NONE)}
}

func (f *Follower) response(seq uint64, code messages.ErrorCode) *messages.ReplicateResponse {
	return &messages.ReplicateResponse{
		ErrorCode:   code,
		FollowerId:  f.self,
		Leo:         f.leo,
		Hw:          f.hw,
		LeaderEpoch: f.epoch,
		Seq:         seq,
	}
}
