// Package controller is the controller loop of a node: an actor, spawned
// by the node guardian (actors/node), that competes for the cluster's
// controller lock and, while it holds it, keeps partition leadership in
// line with the live members.
//
//	pid, err := ctx.SpawnNamed(controller.Props(controller.Config{
//		NodeID:     self.NodeID,
//		Store:      store,
//		Membership: membership,
//		Controller: ctl, // cluster/controller
//	}), "controller")
//	// the parent receives *controller.RoleChanged when the node becomes
//	// or stops being the controller
//
// # Loop
//
// A goroutine owned by the actor does the blocking work and posts what
// happened to the actor (Root.Send), so Receive never blocks:
//
//  1. Campaign for the lock (cluster.Membership.Campaign), retrying with
//     backoff while the membership cannot reach Consul.
//  2. While the lock is held: watch the members and the metadata; after
//     every change, and every RecheckInterval, run
//     cluster/controller.ElectLeaders, which moves leaders off dead nodes
//     (bumping the leader epoch, electing from the ISR only unless the
//     topic allows unclean election), drops dead followers from ISRs, and
//     gives offline partitions a leader when an ISR member returns.
//     Failures (Consul unavailable, lost races) are retried with backoff.
//     Every LeaderBalanceInterval (when set) it also runs
//     cluster/controller.BalanceLeaders, which moves leaderships back to
//     the preferred replicas of a node whose imbalance is above
//     LeaderImbalancePercent (Kafka's auto leader rebalance). After each
//     successful pass, when ReplicaBalance is on, it runs the automatic
//     replica balance: cluster/controller.LoadBalanceView, PlanBalance
//     (the only state kept is the settle clock of a new node) and
//     ApplyBalance, which starts reassignments the next passes carry out.
//  3. When the lock is lost (the node's session ended, Consul was
//     unreachable for the check TTL, the membership left) the watches and
//     any running election are cancelled at once and the loop campaigns
//     again.
//
// Every write is a check-and-set, so a controller that lost the lock but
// has not noticed yet cannot overwrite what the new one wrote: its
// computation is re-read and recomputed, or fails.
//
// On a single node (cluster/local) the campaign succeeds at once and the
// same loop runs over the one member.
package controller
