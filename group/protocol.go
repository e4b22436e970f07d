package group

import "slices"

// supports reports whether a member with these protocols may join: it must
// use the group's protocol type and share a protocol with every other member.
func (g *Group) supports(self, protocolType string, ps []Protocol) bool {
	if protocolType == "" || len(ps) == 0 {
		return false
	}
	others := 0
	for id := range g.members {
		if id != self {
			others++
		}
	}
	if others == 0 {
		return true
	}
	if protocolType != g.protocolType {
		return false
	}
	for _, p := range ps {
		if g.supportedByOthers(self, p.Name) {
			return true
		}
	}
	return false
}

func (g *Group) supportedByOthers(self, name string) bool {
	for id, m := range g.members {
		if id != self && !m.hasProtocol(name) {
			return false
		}
	}
	return true
}

func (m *member) hasProtocol(name string) bool {
	return slices.ContainsFunc(m.protocols, func(p Protocol) bool { return p.Name == name })
}

// selectProtocol picks the protocol for the next generation as Kafka does:
// among the protocols every member supports, each member votes for the one
// it prefers most, and the most votes win. Ties go to the candidate the
// leader prefers, so the choice is deterministic.
func (g *Group) selectProtocol() string {
	var candidates []string
	if l, ok := g.members[g.leader]; ok {
		for _, p := range l.protocols {
			if g.supportedByOthers("", p.Name) {
				candidates = append(candidates, p.Name)
			}
		}
	}
	if len(candidates) == 0 {
		return ""
	}
	votes := make(map[string]int)
	for _, m := range g.members {
		for _, p := range m.protocols {
			if slices.Contains(candidates, p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best := candidates[0]
	for _, c := range candidates[1:] {
		if votes[c] > votes[best] {
			best = c
		}
	}
	return best
}
