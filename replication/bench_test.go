package replication

import (
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// BenchmarkLeaderAppendAck measures the bookkeeping of one produced batch
// on a leader with two followers: the append, its pushes, both acks and
// the acks=all completion.
func BenchmarkLeaderAppendAck(b *testing.B) {
	l := NewLeader(Config{}, 1, 0, []int32{1, 2, 3}, []int32{1, 2, 3}, 0, 0)
	now := t0
	for _, p := range l.OnTick(now).Sends {
		l.Sent(p, p.From, p.From, 0)
		l.OnReplicateAck(&messages.ReplicateResponse{FollowerId: p.To, Leo: 0, Seq: p.Seq}, now)
	}
	const batchBytes = 16 << 10
	b.SetBytes(batchBytes)
	b.ReportAllocs()
	resp := &messages.ReplicateResponse{}
	for i := range b.N {
		now = now.Add(time.Microsecond)
		last := int64(i)
		eff := l.OnAppend(last, now)
		l.AddPendingProduce(uint64(i), last, -1, time.Time{})
		for _, p := range eff.Sends {
			l.Sent(p, p.From, last+1, batchBytes)
			resp.FollowerId, resp.Leo, resp.Seq = p.To, last+1, p.Seq
			l.OnReplicateAck(resp, now)
		}
	}
	if l.HW() != int64(b.N) || l.PendingProduces() != 0 {
		b.Fatalf("HW %d pending %d after %d batches", l.HW(), l.PendingProduces(), b.N)
	}
}
