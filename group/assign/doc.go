// Package assign holds the client side of Kafka's consumer group protocol:
// the consumer protocol messages a member sends in JoinGroup and receives in
// SyncGroup, and the assignors the group leader runs.
//
// # Consumer protocol
//
// A consumer joins with protocol type "consumer" and one protocol per
// assignor it supports, each carrying an encoded Subscription; the leader
// decodes them, runs the chosen Assignor and sends each member an encoded
// Assignment. Both encodings are Kafka's, byte for byte (big-endian, int16
// version first, arrays with an int32 count, strings with an int16 length,
// nullable bytes with an int32 length, -1 for null):
//
//	Subscription  version, topics [string], user data bytes,
//	              v1+ owned partitions [{topic, [int32]}], v2+ generation int32,
//	              v3+ rack nullable string
//	Assignment    version, partitions [{topic, [int32]}], user data bytes
//
// A leader's work, given the JoinGroup response members and topic metadata:
//
//	var ms []assign.Member
//	for _, m := range joined {
//		s, err := assign.DecodeSubscription(m.Metadata)
//		...
//		ms = append(ms, assign.MemberFrom(m.MemberID, m.GroupInstanceID, s))
//	}
//	plan := assign.CooperativeSticky{}.Assign(ms, partitionCounts)
//	syncAssignments := assign.Encode(plan)
//
// # Assignors
//
// Range and RoundRobin are Kafka's eager assignors: members give up all
// partitions before rejoining. CooperativeSticky (KIP-429) is incremental:
// members keep consuming what they own through a rebalance; a partition
// that changes owner is first left out of the plan, so its owner revokes it,
// and it is assigned in the follow-up rebalance the revoking member starts.
// All order members as Kafka does (static members by instance id first,
// then by member id), so plans are deterministic.
package assign
