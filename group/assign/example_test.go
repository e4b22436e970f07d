package assign_test

import (
	"fmt"

	"github.com/sluice-mq/sluice/group/assign"
)

// A second consumer joins a group whose first consumer owns all four
// partitions: the first rebalance only revokes, the follow-up hands over.
func ExampleCooperativeSticky() {
	topics := map[string]int32{"orders": 4}
	members := []assign.Member{
		{ID: "a", Topics: []string{"orders"}, Owned: map[string][]int32{"orders": {0, 1, 2, 3}}, Generation: 1},
		{ID: "b", Topics: []string{"orders"}, Generation: -1},
	}
	plan := assign.CooperativeSticky{}.Assign(members, topics)
	fmt.Println("round 1:", plan["a"], plan["b"])

	// a revokes orders 0 and 1 and rejoins; both now report what they own.
	members[0].Owned, members[0].Generation = plan["a"], 2
	members[1].Owned, members[1].Generation = plan["b"], 2
	plan = assign.CooperativeSticky{}.Assign(members, topics)
	fmt.Println("round 2:", plan["a"], plan["b"])
	// Output:
	// round 1: map[orders:[2 3]] map[]
	// round 2: map[orders:[2 3]] map[orders:[0 1]]
}
