package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluice-mq/sluice/cluster/identity"
	"github.com/sluice-mq/sluice/cluster/metadata"
)

// checkIdentity compares the data dir's identity (meta.properties) with
// the store's cluster id: a node that belongs to a cluster refuses a store
// without that cluster's id rather than reconciling against it; a fresh
// data dir joins the store's cluster, or creates one in an empty store,
// and records it.
func (s *Server) checkIdentity(ctx context.Context) error {
	var disk *identity.Identity
	id, err := identity.Read(s.cfg.DataDir)
	switch {
	case err == nil:
		disk = &id
	case !errors.Is(err, identity.ErrNotExist):
		return err
	}
	storeID, err := metadata.ClusterID(ctx, s.store)
	if err != nil {
		return err
	}
	action, err := identity.Check(s.cfg.DataDir, disk, storeID, s.cfg.NodeID)
	if err != nil {
		return err
	}
	switch action {
	case identity.Create:
		if storeID, err = metadata.EnsureClusterID(ctx, s.store); err != nil {
			return err
		}
		s.logger.Info("created a new cluster", "cluster_id", storeID)
	case identity.Join:
		s.logger.Info("joining cluster", "cluster_id", storeID)
	case identity.Proceed:
		return nil
	}
	if err := identity.Write(s.cfg.DataDir, identity.Identity{ClusterID: storeID, NodeID: s.cfg.NodeID}); err != nil {
		return fmt.Errorf("broker: record cluster identity: %w", err)
	}
	return nil
}
