package replication

import (
	"github.com/sluice-mq/sluice/messages"
)

// PushDecision says what a follower actor does with a ReplicateRequest.
type PushDecision struct {
	// Append asks for log.AppendReplicated(req.Records) and then a call to
	// Appended, whose response goes back to the leader. When StartAt >= 0
	// the log is first emptied and restarted at StartAt
	// (TruncateFullyAndStartAt): the follower's log ends before the
	// leader's starts.
	Append  bool
	StartAt int64
	// Response, when Append is false, is the answer to send at once.
	Response *messages.ReplicateResponse
	// HWChanged reports that a heartbeat moved the high watermark.
	HWChanged bool
	// RefreshMetadata reports a push from a newer epoch than the follower
	// knows: the actor should refresh its metadata.
	RefreshMetadata bool
}

// OnPush decides what to do with a push:
//
//   - an older epoch is refused with FENCED_LEADER_EPOCH, a newer one with
//     UNKNOWN_LEADER_EPOCH (and a metadata refresh), another leader of the
//     same epoch with NOT_LEADER_OR_FOLLOWER;
//   - while truncating, every push is refused with REPLICA_NOT_AVAILABLE;
//   - records whose base offset is the follower's log end offset are
//     appended; so are records that start the log over when the leader's
//     log starts past the follower's end;
//   - anything else, heartbeats included, is answered with the follower's
//     log end offset, from which the leader resends.
//
// Every answer carries req.Seq.
func (f *Follower) OnPush(req *messages.ReplicateRequest) PushDecision {
	d := PushDecision{StartAt: -1}
	switch {
	case req.LeaderEpoch < f.epoch:
		d.Response = f.response(req.Seq, messages.ErrorCode_FENCED_LEADER_EPOCH)
		return d
	case req.LeaderEpoch > f.epoch:
		d.Response = f.response(req.Seq, messages.ErrorCode_UNKNOWN_LEADER_EPOCH)
		d.RefreshMetadata = true
		return d
	case req.LeaderId != f.leader:
		d.Response = f.response(req.Seq, messages.ErrorCode_NOT_LEADER_OR_FOLLOWER)
		return d
	case f.truncating:
		d.Response = f.response(req.Seq, messages.ErrorCode_REPLICA_NOT_AVAILABLE)
		return d
	}
	hasRecords := len(req.Records) > 0 && req.EndOffset > req.BaseOffset
	switch {
	case hasRecords && f.leo < req.LeaderLogStart:
		d.Append, d.StartAt = true, req.BaseOffset
	case hasRecords && req.BaseOffset == f.leo:
		d.Append = true
	default:
		if req.BaseOffset == f.leo {
			d.HWChanged = f.learnHW(req.LeaderHw)
		}
		d.Response = f.response(req.Seq, messages.ErrorCode_NONE)
	}
	return d
}

// Appended reports the outcome of an append OnPush asked for: the log now
// ends at leo (unchanged when the append failed, so the leader resends
// from there). It returns the answer to send and whether the high
// watermark moved.
func (f *Follower) Appended(req *messages.ReplicateRequest, leo int64) (resp *messages.ReplicateResponse, hwChanged bool) {
	if leo < f.leo {
		// Restarted at a new log start (TruncateFullyAndStartAt).
		f.hw = min(f.hw, leo)
	}
	f.leo = leo
	hwChanged = f.learnHW(req.LeaderHw)
	return f.response(req.Seq, messages.ErrorCode_NONE), hwChanged
}

// learnHW raises the high watermark to the leader's, capped at the log
// end offset.
func (f *Follower) learnHW(leaderHW int64) bool {
	hw := min(leaderHW, f.leo)
	if hw <= f.hw {
		return false
	}
	f.hw = hw
	return true
}

// RefusePush answers a push that reaches a replica with no Follower for
// it: a leader, or a replica between roles, in leader epoch epoch. An
// older push is fenced; a newer one means this replica's metadata is stale
// (refresh is true); the same epoch from another leader cannot be served.
func RefusePush(self, epoch int32, req *messages.ReplicateRequest) (resp *messages.ReplicateResponse, refresh bool) {
	resp = &messages.ReplicateResponse{FollowerId: self, LeaderEpoch: epoch, Seq: req.Seq, Leo: -1, Hw: -1}
	switch {
	case req.LeaderEpoch < epoch:
		resp.ErrorCode = messages.ErrorCode_FENCED_LEADER_EPOCH
	case req.LeaderEpoch > epoch:
		resp.ErrorCode = messages.ErrorCode_UNKNOWN_LEADER_EPOCH
		refresh = true
	default:
		resp.ErrorCode = messages.ErrorCode_NOT_LEADER_OR_FOLLOWER
	}
	return resp, refresh
}
