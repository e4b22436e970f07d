package partition

import "github.com/asynkron/protoactor-go/actor"

// Disk work a replica hands off: a follower's truncation (the cut, its
// fsync, deleted segments) and a restart of its log at the leader's log
// start. One runs at a time, in a goroutine; its completion message
// finishes it in the actor. Messages that would change the role or the
// log meanwhile (UpdateState, UpdateConfig, DeleteLog) are held, the
// newest of each kind only, and handled once it is done, so the log is
// never cut under a new leader's appends. Stopping waits for it.

// deferredWork is what arrived while a disk operation ran.
type deferredWork struct {
	state  *UpdateState
	config *UpdateConfig
	delete bool
}

// runDiskOp runs op in a goroutine and sends the actor the message op
// returns.
func (r *replica) runDiskOp(ctx actor.Context, op func() any) {
	done := make(chan struct{})
	r.diskOp = done
	system, self := ctx.ActorSystem(), ctx.Self()
	go func() {
		defer close(done)
		system.Root.Send(self, op())
	}()
}

// diskOpDone ends the running disk operation, runs finish and then
// handles the messages held meanwhile.
func (r *replica) diskOpDone(ctx actor.Context, finish func()) {
	r.diskOp = nil
	finish()
	d := r.deferred
	r.deferred = deferredWork{}
	// Each may start another disk operation; what follows it waits again.
	if d.state != nil {
		r.handleUpdateState(ctx, d.state)
	}
	if d.config != nil && !r.deferWhileBusy(d.config) {
		r.handleUpdateConfig(ctx, d.config)
	}
	if d.delete && !r.deferWhileBusy(&DeleteLog{}) {
		r.deleteLog(ctx)
	}
}

// deferWhileBusy holds m if a disk operation runs; true if it did.
func (r *replica) deferWhileBusy(m any) bool {
	if r.diskOp == nil {
		return false
	}
	switch m := m.(type) {
	case *UpdateState:
		r.deferred.state = m
	case *UpdateConfig:
		r.deferred.config = m
	case *DeleteLog:
		r.deferred.delete = true
	default:
		return false
	}
	return true
}

// waitDiskOp waits for a running disk operation before the log is closed
// (the actor is stopping).
func (r *replica) waitDiskOp() {
	if r.diskOp != nil {
		<-r.diskOp
		r.diskOp = nil
	}
}
