// Package controller carries out admin requests (create and delete topics,
// add partitions, alter configs) and leader elections against the metadata
// store. It is a plain component: no actors and no goroutines of its own.
// The node actor holding the controller role calls it from a goroutine and
// sends the response back:
//
//	ctl := controller.New(store, membership, brokerTopicDefaults)
//	resp := ctl.CreateTopic(ctx, &messages.CreateTopicRequest{
//		Name: "orders", Partitions: 6, ReplicationFactor: 3,
//	})
//	if resp.ErrorCode != messages.ErrorCode_NONE { ... resp.ErrorMessage ... }
//
// Every response is filled whatever happens: a wire error code (Kafka's)
// and a message saying what was wrong. Requests are validated completely
// before anything is written, and every write is a check-and-set that is
// re-read and retried when it loses a race, so a rejected request leaves the
// metadata as it was and concurrent requests never overwrite each other.
//
// Replicas are placed over the live members (cluster.Membership.Members)
// with cluster/placement. New partitions start with the first replica as
// leader in epoch 0 and every replica in sync. ElectLeaders moves leadership
// off nodes that are no longer members; the node actor calls it when
// membership changes.
//
// ReassignPartition records that a partition moves to other nodes, under
// reassignments/<topic>/<partition> in the store; AdvanceReassignments,
// run by every ElectLeaders pass, carries each move out in repeatable
// check-and-set steps: list old and new replicas with a new leader epoch,
// wait until the new replicas are in the ISR, then keep only the new list
// (electing a new leader when the old one leaves) in another new epoch.
// The record is the only state, so a new controller finishes what the
// old one started.
//
// Elect serves ElectLeaders: a preferred election moves a partition's
// leadership to the first replica of its assignment when that replica is
// live and in the ISR, in a new leader epoch; an unclean one gives a
// partition without a live in-sync replica a live replica. BalanceLeaders
// runs preferred elections for the nodes whose share of preferred
// partitions led by others is above a threshold (the controller loop
// calls it periodically).
//
// The automatic replica balance (autobalance.go) decides with the pure
// PlanBalance from a BalanceView read from the metadata: a round
// (BalanceRoundKey) starts when a node is decommissioned
// (DecommissionedPrefix, written by Decommission) or a live node has held
// no replica for the settle delay, and carries placement.Balance's moves
// out as reassignments, a bounded number at a time, until the plan is
// empty. Nothing moves while a node holding replicas is down or a
// partition is out of sync. New topics place no replica on a
// decommissioned node.
//
// A node in controlled shutdown writes metadata.ShuttingDownKey; elections
// then treat it as live but leaving: its leaderships go to other in-sync
// replicas, it leaves the ISRs that keep another member, it is not
// preferred and gets no new replicas. ShutdownPending tells the node, from
// its own view, what it still has to hand over.
//
// Metadata builds a MetadataResponse from a node's current ClusterView, for
// the node actor's Metadata handler.
package controller
