package node

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	ctlactor "github.com/sluice-mq/sluice/actors/controller"
	"github.com/sluice-mq/sluice/cluster/metadata"
)

// ControllerActorName is the name of the guardian's controller child
// (actors/controller).
const ControllerActorName = "controller"

// DefaultControllerPollInterval is how often the node reads the controller
// lock's holder when Config.ControllerPollInterval is 0.
const DefaultControllerPollInterval = time.Second

// controllerChanged reports the holder of the controller lock as read
// from the membership (-1 when nobody holds it).
type controllerChanged struct{ id int32 }

// spawnController starts the controller loop as a child of the guardian.
func (n *node) spawnController(ctx actor.Context) {
	props := ctlactor.Props(ctlactor.Config{
		NodeID:          n.cfg.Self.NodeID,
		Store:           n.cfg.Store,
		Membership:      n.cfg.Membership,
		Controller:      n.ctl,
		RecheckInterval: n.cfg.ControllerRecheckInterval,
		Logger:          n.logger,

		LeaderBalanceInterval:  n.cfg.LeaderBalanceInterval,
		LeaderImbalancePercent: n.cfg.LeaderImbalancePercent,
		ReplicaBalance:         n.cfg.ReplicaBalance,
	})
	pid, err := ctx.SpawnNamed(props, ControllerActorName)
	if err != nil {
		n.logger.Error("spawn controller", "error", err)
		return
	}
	n.controller = pid
}

// handleRoleChanged records what the local controller loop reports: it
// knows first that this node won or lost the lock.
func (n *node) handleRoleChanged(m *ctlactor.RoleChanged) {
	switch {
	case m.Active:
		n.view.ControllerID = n.cfg.Self.NodeID
	case n.view.ControllerID == n.cfg.Self.NodeID:
		n.view.ControllerID = -1 // until the poll reads the new holder
	}
	n.ready.controllerKnown.Store(n.view.ControllerID >= 0)
	n.ready.note()
}

// handleMembersChanged records the live members and publishes their
// addresses to the replicas.
func (n *node) handleMembersChanged(ctx actor.Context, m *membersChanged) {
	n.view.Members = m.members
	n.directory.set(m.members)
	n.checkShutdown(ctx)
}

// watchController posts the holder of the controller lock whenever it
// changes, polling every ControllerPollInterval: the lock can move without
// any membership change (a controller that lost its session but came
// back).
func (n *node) watchController(ctx context.Context, post func(any)) {
	interval := n.cfg.ControllerPollInterval
	if interval <= 0 {
		interval = DefaultControllerPollInterval
	}
	last := int32(-2)
	problems := retryLog{logger: n.logger, what: "controller lock read"}
	for {
		id, err := n.cfg.Membership.Controller(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			problems.failed(err, interval)
		} else {
			problems.ok()
			if id != last {
				last = id
				post(&controllerChanged{id: id})
			}
		}
		if !sleep(ctx, interval) {
			return
		}
	}
}

// sameCluster reports whether snap belongs to the cluster the node runs
// in. A snapshot without the cluster id (or with another one) means the
// store lost its contents, as a Consul agent in dev mode does when it
// restarts, or the node was pointed at another cluster: reconciling with
// it would delete every partition's data, so the node keeps its current
// metadata, serves its current roles and says so loudly. restored is true
// for the first snapshot of this cluster after such a loss.
func (n *node) sameCluster(snap metadata.Snapshot) (same, restored bool) {
	known := n.view.Snapshot.ClusterID
	if known == "" || snap.ClusterID == known {
		if n.storeLost {
			n.storeLost = false
			n.logger.Warn("metadata store holds this cluster's metadata again", "cluster_id", known)
			return true, true
		}
		return true, false
	}
	if !n.storeLost {
		n.storeLost = true
		n.logger.Error("metadata store lost this cluster's metadata (cluster id gone or changed); "+
			"keeping the current metadata and ignoring the store until it is restored",
			"cluster_id", known, "store_cluster_id", snap.ClusterID, "topics_in_store", len(snap.Topics))
	}
	return false, false
}
