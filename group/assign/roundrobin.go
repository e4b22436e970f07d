package assign

// RoundRobin is Kafka's RoundRobinAssignor ("roundrobin"): all partitions of
// the subscribed topics, sorted by topic and partition, are dealt to the
// members in assignor order, skipping members not subscribed to the
// partition's topic.
//
// With two members C0, C1 subscribed to t0 and t1 of 3 partitions each:
// C0 gets t0p0, t0p2, t1p1 and C1 gets t0p1, t1p0, t1p2.
type RoundRobin struct{}

// Name returns "roundrobin".
func (RoundRobin) Name() string { return "roundrobin" }

// Assign implements Assignor.
func (RoundRobin) Assign(members []Member, topicPartitions map[string]int32) map[string]map[string][]int32 {
	plan := emptyPlan(members)
	sorted := sortedMembers(members)
	next := 0
	for _, topic := range subscribedTopics(members, topicPartitions) {
		for p := range topicPartitions[topic] {
			// Some member subscribes to topic, so this ends within one lap.
			for !subscribes(sorted[next%len(sorted)], topic) {
				next++
			}
			m := sorted[next%len(sorted)]
			next++
			plan[m.ID][topic] = append(plan[m.ID][topic], p)
		}
	}
	return plan
}
