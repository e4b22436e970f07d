package group

import "github.com/sluice-mq/sluice/group/assign"

// SubscribedTopics returns the topics the members of a consumer group
// subscribe to, from their metadata for the group's protocol, and whether
// they are known: they are not for a group of another protocol type, one
// without a protocol yet, or one with a member whose subscription does not
// decode (Kafka then counts the group as subscribed to every topic).
func (g *Group) SubscribedTopics() (map[string]bool, bool) {
	if g.protocolType != assign.ConsumerProtocolType || g.protocol == "" {
		return nil, false
	}
	topics := make(map[string]bool)
	for _, id := range g.order {
		s, err := assign.DecodeSubscription(g.members[id].metadata(g.protocol))
		if err != nil {
			return nil, false
		}
		for _, t := range s.Topics {
			topics[t] = true
		}
	}
	return topics, true
}

// ProtocolType is the protocol type the group's members joined with ("" for
// a group without members since it was loaded or created).
func (g *Group) ProtocolType() string { return g.protocolType }
