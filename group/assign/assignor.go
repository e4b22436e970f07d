package assign

import (
	"cmp"
	"slices"
)

// Member is one group member as the leader's assignor sees it, decoded from
// its Subscription.
type Member struct {
	ID         string
	InstanceID string // "" for dynamic members
	Topics     []string
	// Owned are the partitions the member owns now (Subscription v1+), by
	// topic.
	Owned map[string][]int32
	// Generation is the generation in which the member got Owned; -1 when
	// unknown. When two members claim a partition, the newer claim wins.
	Generation int32
	UserData   []byte
}

// Assignor computes a group's assignment on the leader.
type Assignor interface {
	// Name is the protocol name members advertise in JoinGroup ("range",
	// "roundrobin", "cooperative-sticky").
	Name() string
	// Assign maps each member id to its partitions by topic.
	// topicPartitions holds the partition count of every topic known to
	// exist; subscribed topics missing from it are not assigned. The result
	// has an entry, possibly empty, for every member; partition lists are
	// sorted; no partition is given to two members or to a member not
	// subscribed to its topic. Assign does not modify its arguments.
	Assign(members []Member, topicPartitions map[string]int32) map[string]map[string][]int32
}

// MemberFrom builds the assignor's view of a member from its decoded
// subscription.
func MemberFrom(id, instanceID string, s *Subscription) Member {
	return Member{
		ID:         id,
		InstanceID: instanceID,
		Topics:     s.Topics,
		Owned:      Map(s.OwnedPartitions),
		Generation: s.Generation,
		UserData:   s.UserData,
	}
}

// Encode turns an Assign result into the SyncGroup assignments, each an
// Assignment at AssignmentVersion.
func Encode(plan map[string]map[string][]int32) map[string][]byte {
	out := make(map[string][]byte, len(plan))
	for id, tps := range plan {
		a := Assignment{Version: AssignmentVersion, Partitions: List(tps)}
		out[id] = a.Encode()
	}
	return out
}

// sortedMembers returns the members in Kafka's assignor order: members with
// a group instance id first, by instance id, then the rest by member id.
// Static members thus keep their place across restarts, which change their
// member ids.
func sortedMembers(members []Member) []Member {
	s := slices.Clone(members)
	slices.SortStableFunc(s, func(a, b Member) int {
		switch {
		case a.InstanceID != "" && b.InstanceID != "":
			return cmp.Or(cmp.Compare(a.InstanceID, b.InstanceID), cmp.Compare(a.ID, b.ID))
		case a.InstanceID != "":
			return -1
		case b.InstanceID != "":
			return 1
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return s
}

func subscribes(m Member, topic string) bool { return slices.Contains(m.Topics, topic) }

// emptyPlan returns a plan with an empty entry per member.
func emptyPlan(members []Member) map[string]map[string][]int32 {
	plan := make(map[string]map[string][]int32, len(members))
	for _, m := range members {
		plan[m.ID] = map[string][]int32{}
	}
	return plan
}

// subscribedTopics returns the sorted topics that some member subscribes to
// and that exist.
func subscribedTopics(members []Member, topicPartitions map[string]int32) []string {
	var topics []string
	for _, m := range members {
		for _, t := range m.Topics {
			if n, ok := topicPartitions[t]; ok && n > 0 && !slices.Contains(topics, t) {
				topics = append(topics, t)
			}
		}
	}
	slices.Sort(topics)
	return topics
}

// tp is a topic partition.
type tp struct {
	topic     string
	partition int32
}

func compareTP(a, b tp) int {
	return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.partition, b.partition))
}
