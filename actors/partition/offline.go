package partition

import (
	"errors"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/messages"
)

// errLogDirOffline is the cause given to a log failed because another log
// of its directory failed, when the node names none.
var errLogDirOffline = errors.New("partition: log dir offline")

// takeOffline ends the replica's service after its log dir failed
// (Kafka's log dir failure, KIP-112): its log is failed first, so a
// handed-off disk operation still running stops writing, then waiting
// produces and parked fetches get KAFKA_STORAGE_ERROR, the leader resigns
// or the follower stops following, and the log is closed without a flush
// or clean-shutdown marker (the next start recovers it). From then on
// every request is refused with KAFKA_STORAGE_ERROR; the controller moves
// leadership to the other ISR members once the node records the offline
// dir.
func (r *replica) takeOffline(ctx actor.Context, cause error) {
	if cause == nil {
		cause = errLogDirOffline
	}
	r.offline = cause
	r.latest.cfg.Offline = cause // a restart after a panic stays offline
	if r.maintenanceTimer != nil {
		r.maintenanceTimer.Stop()
		r.maintenanceTimer = nil
	}
	if r.log != nil {
		_ = r.log.Fail(cause) // returns the log's own failure if it had one
	}
	r.waitDiskOp()
	r.waitMaintenance()
	r.deferred = deferredWork{}
	r.logger.Warn("log dir offline: replica stopped", "dir", r.cfg.Dir, "error", cause)
	if r.log != nil {
		r.unregisterCleaner(false)
		r.abandonProducers()
		r.stats.setLog(nil)
		_ = r.log.Close() // failed: closes the files only
		r.log = nil
	}
	// Answered before the leader resigns, so they hear the storage error.
	r.failPending(ctx, r.storageError())
	r.stopReplication(ctx)
	r.behavior.Become(r.failed)
}

// storageError is the refusal of a replica whose log is unavailable.
func (r *replica) storageError() error {
	if r.offline != nil {
		return messages.Wrap(messages.ErrorCode_KAFKA_STORAGE_ERROR, "partition %s/%d: log dir offline on node %d: %v",
			r.cfg.Topic, r.cfg.Partition, r.cfg.NodeID, r.offline)
	}
	return messages.Wrap(messages.ErrorCode_KAFKA_STORAGE_ERROR, "partition %s/%d: log unavailable", r.cfg.Topic, r.cfg.Partition)
}
