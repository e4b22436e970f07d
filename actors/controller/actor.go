package controller

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/sluice-mq/sluice/cluster/metadata"
)

// RoleChanged is sent to the actor's parent when this node becomes the
// controller (Active) or stops being it.
type RoleChanged struct {
	NodeID int32
	Active bool
}

// StatusRequest asks the actor for its Status.
type StatusRequest struct{}

// Status is what the controller loop last did, for operators.
type Status struct {
	// Active is true while this node holds the controller lock.
	Active bool
	// Since is when Active last changed.
	Since time.Time
	// Elections counts the election passes run while active (over the
	// actor's life); LastElection is when the last one ended.
	Elections    int
	LastElection time.Time
	// LastChanged lists the partitions the last pass changed.
	LastChanged []metadata.TopicPartition
	// LastError is why the last pass failed ("" when it did not).
	LastError string
}

// Internal messages posted by the loop goroutine.
type (
	lockWon      struct{}
	lockLost     struct{}
	electionDone struct {
		changed []metadata.TopicPartition
		err     error
	}
)

// controllerActor owns the loop goroutine. Its fields are owned by the
// actor and never touched outside Receive, except cfg (read-only).
type controllerActor struct {
	cfg    Config
	logger *slog.Logger
	status Status

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Props returns the props of the controller actor. It panics on a Config
// without Store, Membership or Controller (a programming error).
func Props(cfg Config) *actor.Props {
	if err := cfg.validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	return actor.PropsFromProducer(func() actor.Actor {
		return &controllerActor{cfg: cfg, logger: cfg.Logger.With("component", "controller")}
	})
}

// Receive is a type switch over the actor's messages.
func (a *controllerActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.handleStarted(ctx)
	case *actor.Stopping:
		a.handleStopping()
	case *lockWon:
		a.setActive(ctx, true)
	case *lockLost:
		a.setActive(ctx, false)
	case *electionDone:
		a.handleElectionDone(m)
	case *StatusRequest:
		st := a.status
		st.LastChanged = append([]metadata.TopicPartition(nil), st.LastChanged...)
		ctx.Respond(&st)
	}
}

func (a *controllerActor) handleStarted(ctx actor.Context) {
	runCtx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.status.Since = time.Now()
	root, self := ctx.ActorSystem().Root, ctx.Self()
	l := &loop{cfg: a.cfg, logger: a.logger, post: func(msg any) { root.Send(self, msg) }}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		l.run(runCtx)
	}()
}

// handleStopping ends the loop; a held lock stays held until the
// membership leaves (the node's shutdown), so that a restarting actor
// does not hand the role around.
func (a *controllerActor) handleStopping() {
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
}

func (a *controllerActor) setActive(ctx actor.Context, active bool) {
	if a.status.Active == active {
		return
	}
	a.status.Active, a.status.Since = active, time.Now()
	a.cfg.Controller.Stats().Active.Store(active)
	if active {
		a.logger.Info("this node is now the controller", "node_id", a.cfg.NodeID)
	} else {
		a.logger.Warn("this node is no longer the controller", "node_id", a.cfg.NodeID)
	}
	if parent := ctx.Parent(); parent != nil {
		ctx.Send(parent, &RoleChanged{NodeID: a.cfg.NodeID, Active: active})
	}
}

func (a *controllerActor) handleElectionDone(m *electionDone) {
	a.status.Elections++
	a.status.LastElection = time.Now()
	a.status.LastChanged = m.changed
	a.status.LastError = ""
	if m.err != nil {
		a.status.LastError = m.err.Error()
	}
	if len(m.changed) > 0 {
		names := make([]string, len(m.changed))
		for i, tp := range m.changed {
			names[i] = tp.String()
		}
		a.logger.Info("partition leadership updated", "partitions", names)
	}
}
