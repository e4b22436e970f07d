package replication

import (
	"slices"
	"testing"
	"time"
)

// ISR changes in flight: the high watermark under Kafka's maximal ISR, and
// proposals whose CAS loses.

// While a shrink is pending the high watermark still waits for the member
// being removed (maximal ISR); once applied it advances.
func TestReplicationPendingShrinkHoldsHW(t *testing.T) {
	c := startedCluster(t, Config{ReplicaLagTime: time.Second}, 1, 2, 3)
	l := c.nodes[1].leader
	c.holdISR = true
	c.crash(3)
	c.mustProduce(2, 100, -1)
	c.run(20, tick)
	if ch, ok := l.PendingISR(); !ok || !slices.Equal(ch.ISR, []int32{1, 2}) {
		t.Fatalf("pending ISR %+v %v, want [1 2]", ch, ok)
	}
	if l.HW() != 0 {
		t.Fatalf("HW %d while the shrink is pending, want 0", l.HW())
	}
	c.releaseISR()
	if l.HW() != 2 || len(c.acked) != 1 {
		t.Fatalf("HW %d, acked %d after the shrink applied, want 2 and 1", l.HW(), len(c.acked))
	}
}

// A pending expansion counts the joining follower for the high watermark
// already, so the HW never passes a member of the ISR that may be applied.
func TestReplicationPendingExpandCountsNewMember(t *testing.T) {
	c := startedCluster(t, Config{ReplicaLagTime: time.Second}, 1, 2, 3)
	l := c.nodes[1].leader
	c.crash(3)
	c.mustProduce(2, 100, -1)
	c.run(20, tick)
	if got := l.ISR(); !slices.Equal(got, []int32{1, 2}) {
		t.Fatalf("ISR %v, want [1 2]", got)
	}
	c.holdISR = true
	c.restart(3)
	c.settle()
	if ch, ok := l.PendingISR(); !ok || !slices.Equal(ch.ISR, []int32{1, 2, 3}) {
		t.Fatalf("pending ISR %+v %v, want [1 2 3]", ch, ok)
	}
	c.cut[[2]int32{1, 3}] = true
	c.mustProduce(1, 100, -1)
	c.settle()
	if l.HW() != 2 {
		t.Fatalf("HW %d passed the joining member's LEO 2", l.HW())
	}
	c.releaseISR()
	if got := l.ISR(); !slices.Equal(got, []int32{1, 2, 3}) {
		t.Fatalf("ISR %v, want [1 2 3]", got)
	}
}

// The CAS of an ISR change loses (the metadata moved on): the applied ISR
// stands and the change is proposed again later.
func TestReplicationFailedISRChangeIsRetried(t *testing.T) {
	c := startedCluster(t, Config{ReplicaLagTime: time.Second}, 1, 2, 3)
	l := c.nodes[1].leader
	c.holdISR = true
	c.crash(3)
	c.mustProduce(1, 100, -1)
	c.run(20, tick)
	if _, ok := l.PendingISR(); !ok {
		t.Fatal("no shrink proposed")
	}
	c.proposals = nil
	c.leaderDo(c.nodes[1], l.OnISRChangeFailed())
	if _, ok := l.PendingISR(); ok || !slices.Equal(l.ISR(), []int32{1, 2, 3}) {
		t.Fatalf("after a failed CAS: ISR %v", l.ISR())
	}
	c.holdISR = false
	c.tick(tick)
	if got := l.ISR(); !slices.Equal(got, []int32{1, 2}) {
		t.Fatalf("ISR %v after the retry, want [1 2]", got)
	}
}
