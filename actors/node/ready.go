package node

import (
	"fmt"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// Replicas are spawned at most spawnChunk per turn of the guardian: a
// snapshot with thousands of new partitions is worked off in chunks, and
// requests queued meanwhile (metadata, admin) are answered between them.
const spawnChunk = 256

// reapply makes the guardian apply its current snapshot again: to spawn
// the next chunk, or what waited for a stop or a directory rename. At
// most one is queued at a time (node.reapplyQueued), so a burst of stops
// costs one pass over the metadata, not one per stop.
type reapply struct{}

// scheduleApply queues one reapply unless one is queued already.
func (n *node) scheduleApply(ctx actor.Context) {
	if n.reapplyQueued || n.closing {
		return
	}
	n.reapplyQueued = true
	ctx.Send(ctx.Self(), &reapply{})
}

// Readiness publishes whether the node can serve to its admin HTTP server
// (/healthz): it has applied the metadata, spawned every replica the
// metadata assigns it, every replica has opened its log and taken its
// role and, while it starts, knows the controller. Once it
// was ready, losing the controller (a metadata store outage) does not
// make it unready: its replicas keep serving, and /healthz warns instead.
// It is safe for concurrent use.
type Readiness struct {
	controllerKnown atomic.Bool
	pendingReplicas atomic.Int64
	openingReplicas atomic.Int64 // spawned, log not open yet
	started         atomic.Bool
	wasReady        atomic.Bool
}

// note records that the node has been ready once, if it is now.
func (r *Readiness) note() {
	if r.started.Load() && r.controllerKnown.Load() && r.pendingReplicas.Load() == 0 && r.openingReplicas.Load() == 0 {
		r.wasReady.Store(true)
	}
}

// NewReadiness returns a Readiness that is not ready.
func NewReadiness() *Readiness { return &Readiness{} }

// Ready returns nil when the node can serve, otherwise why not.
func (r *Readiness) Ready() error {
	switch {
	case !r.started.Load():
		return fmt.Errorf("node: starting: metadata not applied yet")
	case !r.controllerKnown.Load() && !r.wasReady.Load():
		return fmt.Errorf("node: no controller known")
	case r.pendingReplicas.Load() > 0:
		return fmt.Errorf("node: starting replicas: %d to spawn", r.pendingReplicas.Load())
	case r.openingReplicas.Load() > 0:
		return fmt.Errorf("node: starting replicas: %d opening their logs", r.openingReplicas.Load())
	}
	return nil
}
