package broker

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluice-mq/sluice/cluster/identity"
	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/cluster/recovery"
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
	if s.cfg.RecoverMetadata {
		if err := s.recoverMetadata(ctx, disk); err != nil {
			return err
		}
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

// recoverMetadata rebuilds the store's metadata from the local replicas
// (cluster/recovery) for a node whose data dir records its cluster.
func (s *Server) recoverMetadata(ctx context.Context, disk *identity.Identity) error {
	if disk == nil {
		return fmt.Errorf("broker: --recover-metadata: %s has no %s, so there is no cluster to recover; start without the flag",
			s.cfg.DataDir, identity.FileName)
	}
	if _, err := identity.Check(s.cfg.DataDir, disk, disk.ClusterID, s.cfg.NodeID); err != nil {
		return err // a node id mismatch
	}
	rep, err := recovery.Recover(ctx, s.store, s.cfg.DataDir, *disk, s.logger)
	if err != nil {
		return fmt.Errorf("broker: --recover-metadata: %w", err)
	}
	s.logger.Info("recovered metadata from the local replicas", "cluster_id", disk.ClusterID,
		"topics_created", len(rep.TopicsCreated), "partitions_led", len(rep.Led), "skipped", len(rep.Skipped))
	return nil
}
