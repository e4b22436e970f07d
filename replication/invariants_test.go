package replication

import "slices"

type prefixCheck struct {
	leader             int32
	leaderGen, selfGen uint64
	upTo               int64
}

// checkInvariants fails the test when a safety property is broken:
//   - the leader's high watermark is within every ISR member's log;
//   - a follower done truncating holds a prefix of the leader's log below
//     the high watermark.
//
// The acknowledged records are checked as they are acknowledged, when a
// member joins the ISR and before every truncation (checkAcked,
// checkTruncation).
func (c *simCluster) checkInvariants() {
	c.t.Helper()
	n := c.leaderNode()
	if n == nil || n.leader == nil {
		return
	}
	hw := n.leader.HW()
	if hw > n.log.leo() {
		c.t.Fatalf("leader %d: HW %d beyond its LEO %d", n.id, hw, n.log.leo())
	}
	for _, id := range n.leader.ISR() {
		if leo := c.nodes[id].log.leo(); hw > leo {
			c.t.Fatalf("leader %d: HW %d beyond ISR member %d's LEO %d", n.id, hw, id, leo)
		}
	}
	for _, id := range c.replicas {
		m := c.nodes[id]
		if m.follower == nil || m.follower.Truncating() || m.follower.Epoch() != n.leader.Epoch() {
			continue
		}
		from := max(m.log.start, n.log.start)
		if v := c.verified[id]; v.leader == n.id && v.leaderGen == n.log.gen && v.selfGen == m.log.gen {
			from = max(from, v.upTo)
		}
		upTo := min(hw, m.log.leo())
		for o := from; o < upTo; o++ {
			if m.log.at(o) != n.log.at(o) {
				c.t.Fatalf("follower %d diverges from leader %d at offset %d below HW %d: %v vs %v", id, n.id, o, hw, m.log.at(o), n.log.at(o))
			}
		}
		c.verified[id] = prefixCheck{leader: n.id, leaderGen: n.log.gen, selfGen: m.log.gen, upTo: max(from, upTo)}
	}
}

// checkTruncation fails the test when an ISR member is about to cut an
// acknowledged record.
func (c *simCluster) checkTruncation(n *simNode, offset int64) {
	c.t.Helper()
	if slices.Contains(c.meta.isr, n.id) && c.maxAcked >= offset && offset < n.log.leo() {
		c.t.Fatalf("ISR member %d truncates to %d below acknowledged offset %d", n.id, offset, c.maxAcked)
	}
}

// checkAcked fails the test when an ISR member lacks an acknowledged
// record.
func (c *simCluster) checkAcked(ids []int32) {
	c.t.Helper()
	for o, rec := range c.ackedRecs {
		for _, id := range ids {
			l := c.nodes[id].log
			if o >= l.leo() || (o >= l.start && l.at(o) != rec) {
				c.t.Fatalf("acknowledged offset %d (%v) lost on ISR member %d (log %d..%d)", o, rec, id, l.start, l.leo())
			}
		}
	}
}
