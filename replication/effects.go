package replication

// Effects is what a Leader asks its actor to carry out after an event, in
// this order: send the pushes (calling Leader.Sent for each), answer the
// completed produces, propose the ISR change, publish the high watermark.
type Effects struct {
	// Sends lists the pushes to issue, at most one per follower. Carry out
	// every one before feeding the Leader the next event.
	Sends []Push
	// Completed lists the produce requests that are done, in offset order.
	Completed []ProduceDone
	// ISRChange, when set, is a proposal the actor must persist by CAS in
	// the metadata store and report with OnISRChangeApplied or
	// OnISRChangeFailed. At most one is in flight.
	ISRChange *ISRChange
	// HWChanged reports that the high watermark advanced to HW.
	HWChanged bool
	HW        int64
	// Fenced reports that a follower knows a newer leader epoch: this
	// leader is stale and the actor should refresh its metadata.
	Fenced bool
}

// Empty reports whether there is nothing to carry out.
func (e Effects) Empty() bool {
	return len(e.Sends) == 0 && len(e.Completed) == 0 && e.ISRChange == nil && !e.HWChanged && !e.Fenced
}

// Push asks the actor to send one ReplicateRequest to follower To.
//
// For a data push (Heartbeat false) the actor reads whole batches from
// From, at most MaxBytes but at least one batch, and sends them with
// base_offset set to the base offset of the first batch read (which is
// below From when From falls inside a batch) and end_offset to the offset
// after the last record read; then it calls Leader.Sent. A heartbeat
// carries no records and base_offset = end_offset = From.
type Push struct {
	To        int32
	Seq       uint64
	From      int64
	MaxBytes  int
	Heartbeat bool
}

// ProduceDone reports a finished produce request; Err is nil on success or
// one of messages.ErrNotEnoughReplicasAfterAppend, ErrRequestTimedOut,
// ErrNotLeaderOrFollower.
type ProduceDone struct {
	ID  uint64
	Err error
}

// ISRChange is a proposed in-sync replica set (leader included, ascending
// node ids) for the leader's epoch.
type ISRChange struct {
	LeaderEpoch int32
	ISR         []int32
}
