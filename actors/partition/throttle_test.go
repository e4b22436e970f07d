package partition

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/replication"
)

// TestReplicaThrottlesCatchUpOnly: with the node's throttle in debt and
// its clock stopped, the in-sync follower gets every record (acks=all
// completes) while the follower outside the ISR (a replica being added)
// gets none; once the clock moves it catches up.
func TestReplicaThrottlesCatchUpOnly(t *testing.T) {
	var nanos atomic.Int64
	nanos.Store(time.Unix(1000, 0).UnixNano())
	clock := func() time.Time { return time.Unix(0, nanos.Load()) }
	throttle := replication.NewThrottle(1<<20, clock) // 1 MiB/s
	throttle.Spend(1 << 20)                           // in debt: nothing goes while the clock stands
	g := newReplicaGroup(t, []int32{1, 2, 3}, nil, func(c *Config) { c.Throttle = throttle })
	// Nodes 1 and 2 hold the log already; node 3 is new and empty.
	old := [][]byte{encode(t, 100, "a", "b"), encode(t, 101, "c")}
	g.writeLog(1, 0, old...)
	g.writeLog(2, 0, old...)
	g.startAll(State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2}})

	for i := range 10 {
		resp := g.produce(1, encode(t, int64(i), fmt.Sprintf("v%d", i)), -1, 0)
		wantCode(t, resp.ErrorCode, messages.ErrorCode_NONE, resp.ErrorMessage)
	}
	end := g.status(1).LogEndOffset
	if st := g.status(2); st.LogEndOffset != end {
		t.Fatalf("in-sync follower ends at %d after acks=all produces, leader at %d", st.LogEndOffset, end)
	}
	if st := g.status(3); st.LogEndOffset != 0 {
		t.Fatalf("follower outside the ISR got %d records with the throttle in debt and its clock stopped", st.LogEndOffset)
	}

	// Time passes: the throttle refills and the follower catches up.
	waitFor(t, waitTimeout, func() error {
		nanos.Add(int64(time.Hour))
		if got := g.status(3).LogEndOffset; got != end {
			return fmt.Errorf("follower 3 at %d of %d", got, end)
		}
		return nil
	})
}
