package controller

import (
	"slices"

	"github.com/sluice-mq/sluice/cluster"
	"github.com/sluice-mq/sluice/cluster/metadata"
)

// ShutdownPending lists the partitions where node, in controlled
// shutdown, still leads or sits in the ISR although the controller's
// election (electLeader) would move it: another live in-sync member can
// take over, or the ISR keeps another member without it. It reads only
// snap and members (the live members), so a node can ask it of its own
// view: an empty list means that view, which its replicas follow, no
// longer has it leading anything that can move. A partition whose only
// live in-sync replica is node is not pending: it stays led by node
// until node stops.
func ShutdownPending(snap metadata.Snapshot, members []cluster.Member, node int32) []metadata.TopicPartition {
	nodes := nodeSet{live: make(map[int32]bool, len(members)), leaving: map[int32]bool{node: true}}
	for _, m := range members {
		if _, down := snap.OfflineLogDirs[m.NodeID]; !down {
			nodes.live[m.NodeID] = true
		}
	}
	for n := range snap.ShuttingDown {
		nodes.leaving[n] = true
	}
	nodes.live[node] = true // it is still running: it asks
	var pending []metadata.TopicPartition
	for _, name := range snap.TopicNames() {
		for p, replicas := range snap.Topics[name].Replicas {
			tp := metadata.TopicPartition{Topic: name, Partition: int32(p)}
			state, ok := snap.States[tp]
			if !ok || (state.Leader != node && !slices.Contains(state.ISR, node)) {
				continue
			}
			next, change := electLeader(replicas, state, nodes, false)
			handsOver := state.Leader == node && next.Leader != node
			leavesISR := slices.Contains(state.ISR, node) && !slices.Contains(next.ISR, node)
			if change && (handsOver || leavesISR) {
				pending = append(pending, tp)
			}
		}
	}
	return pending
}
