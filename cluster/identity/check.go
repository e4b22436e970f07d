package identity

import (
	"errors"
	"fmt"
)

// Action is what Check allows a starting node to do.
type Action int

const (
	// Proceed: the data dir and the store belong to the same cluster.
	Proceed Action = iota
	// Join: a fresh data dir joins the store's cluster; write its identity.
	Join
	// Create: a fresh data dir and an empty store; create the cluster id,
	// then write the identity.
	Create
)

// ErrMismatch is wrapped by every refusal of Check.
var ErrMismatch = errors.New("identity: data dir does not belong to this metadata store")

// MismatchError is a refusal of Check, with both sides.
type MismatchError struct {
	DataDir        string
	Disk           Identity // what meta.properties records
	StoreClusterID string   // "" when the store has no cluster id
	FlagNodeID     int32    // the node id the node was started with
}

func (e *MismatchError) Error() string {
	file := Path(e.DataDir)
	switch {
	case e.Disk.NodeID != e.FlagNodeID:
		return fmt.Sprintf("identity: %s records node id %d but the node was started with node id %d; "+
			"start it with --node-id %d, or point --data-dir at this node's own data dir",
			file, e.Disk.NodeID, e.FlagNodeID, e.Disk.NodeID)
	case e.StoreClusterID == "":
		return fmt.Sprintf("identity: this node belongs to cluster %s (%s) but the metadata store has no cluster id "+
			"(it lost its contents, or --consul points at the wrong agent); refusing to start so that no replica is removed. "+
			"Fix the metadata store address, or recreate the metadata from the replicas on disk with sluiced --recover-metadata",
			e.Disk.ClusterID, file)
	default:
		return fmt.Sprintf("identity: this node belongs to cluster %s (%s) but the metadata store belongs to cluster %s; "+
			"refusing to start. Point --consul at cluster %s's metadata store, or give this node an empty data dir to join cluster %s",
			e.Disk.ClusterID, file, e.StoreClusterID, e.Disk.ClusterID, e.StoreClusterID)
	}
}

// Unwrap makes errors.Is(err, ErrMismatch) hold.
func (e *MismatchError) Unwrap() error { return ErrMismatch }

// Check decides whether a node started with nodeID on dataDir may use a
// store whose cluster id is storeID ("" for none). disk is the data dir's
// identity, nil for a fresh dir. Only a fresh data dir may join a cluster
// or create one; a node that belongs to a cluster refuses a store without
// its id, and a node id that differs from the recorded one is refused.
func Check(dataDir string, disk *Identity, storeID string, nodeID int32) (Action, error) {
	if disk == nil {
		if storeID == "" {
			return Create, nil
		}
		return Join, nil
	}
	if disk.NodeID != nodeID || disk.ClusterID != storeID {
		return Proceed, &MismatchError{DataDir: dataDir, Disk: *disk, StoreClusterID: storeID, FlagNodeID: nodeID}
	}
	return Proceed, nil
}
