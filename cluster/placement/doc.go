// Package placement decides which nodes hold the replicas of each partition.
// It is pure: node lists in, assignments out, no I/O.
//
// Assign follows Kafka's rack-unaware assignment. Nodes are sorted; the
// leader (first replica) of partition p is node (p + start) mod n, so leaders
// go round-robin. Followers are placed at a shift from the leader that grows
// by one every n partitions, so that a node's followers are not always the
// same nodes and the load of a failed node's partitions spreads over the
// rest. With 5 nodes, 10 partitions, replication factor 3 and start 0:
//
//	p0: 0 1 2   p5: 0 2 3
//	p1: 1 2 3   p6: 1 3 4
//	p2: 2 3 4   p7: 2 4 0
//	p3: 3 4 0   p8: 3 0 1
//	p4: 4 0 1   p9: 4 1 2
//
// AssignAdditional continues an existing assignment when partitions are
// added, keeping the same rotation so the whole topic stays even.
package placement
