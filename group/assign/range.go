package assign

// Range is Kafka's RangeAssignor ("range"): topic by topic, the partitions
// are split in contiguous ranges over the subscribed members in assignor
// order, the first members getting one extra when the split is uneven.
//
// With two members C0, C1 subscribed to t0 and t1 of 3 partitions each:
// C0 gets t0p0, t0p1, t1p0, t1p1 and C1 gets t0p2, t1p2.
type Range struct{}

// Name returns "range".
func (Range) Name() string { return "range" }

// Assign implements Assignor.
func (Range) Assign(members []Member, topicPartitions map[string]int32) map[string]map[string][]int32 {
	plan := emptyPlan(members)
	sorted := sortedMembers(members)
	for _, topic := range subscribedTopics(members, topicPartitions) {
		var subs []Member
		for _, m := range sorted {
			if subscribes(m, topic) {
				subs = append(subs, m)
			}
		}
		n := int(topicPartitions[topic])
		per, extra := n/len(subs), n%len(subs)
		start := 0
		for i, m := range subs {
			count := per
			if i < extra {
				count++
			}
			for p := start; p < start+count; p++ {
				plan[m.ID][topic] = append(plan[m.ID][topic], int32(p))
			}
			start += count
		}
	}
	return plan
}
