package group

// Description is a group as DescribeGroups reports it.
type Description struct {
	GroupID      string
	State        State
	ProtocolType string
	// Protocol is the chosen protocol; "" unless the group is Stable or
	// CompletingRebalance.
	Protocol   string
	Generation int32
	Leader     string
	Members    []MemberDescription // in join order
}

// MemberDescription is one member in a Description.
type MemberDescription struct {
	MemberID        string
	GroupInstanceID string
	ClientID        string
	ClientHost      string
	// Metadata is the member's metadata for the chosen protocol (for the
	// consumer protocol, its subscription), and Assignment its current
	// assignment; both are nil while the group rebalances.
	Metadata   []byte
	Assignment []byte
}

// Describe returns the group's current description. The byte slices are
// shared with the group; callers must not modify them.
func (g *Group) Describe() Description {
	d := Description{
		GroupID:      g.id,
		State:        g.state,
		ProtocolType: g.protocolType,
		Generation:   g.generation,
		Leader:       g.leader,
	}
	stable := g.state == StateStable || g.state == StateCompletingRebalance
	if stable {
		d.Protocol = g.protocol
	}
	for _, id := range g.order {
		m := g.members[id]
		md := MemberDescription{
			MemberID:        m.id,
			GroupInstanceID: m.instanceID,
			ClientID:        m.clientID,
			ClientHost:      m.host,
		}
		if stable {
			md.Metadata = m.metadata(g.protocol)
		}
		if g.state == StateStable {
			md.Assignment = m.assignment
		}
		d.Members = append(d.Members, md)
	}
	return d
}
