package partition

import (
	"bytes"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// BenchmarkReplicaProduce measures the replica actor alone (in-process,
// real log): 64 KiB batches of 1 KiB records, acks=1, one at a time.
func BenchmarkReplicaProduce(b *testing.B) {
	h := newHarness(b, nil)
	bld := batch.NewBuilder(batch.DefaultEncodeOptions())
	value := bytes.Repeat([]byte("x"), 1024)
	for range 64 {
		bld.Append(time.Now().UnixMilli(), nil, value, nil)
	}
	payload, err := bld.Build()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(64 * 1024)
	b.ReportAllocs()
	for range b.N {
		res, err := h.system.Root.RequestFuture(h.pid, &messages.ProduceRequest{Acks: 1, Records: bytes.Clone(payload), LeaderEpoch: -1}, requestTimeout).Result()
		if err != nil {
			b.Fatal(err)
		}
		if r := res.(*messages.ProduceResponse); r.ErrorCode != messages.ErrorCode_NONE {
			b.Fatal(r.ErrorCode)
		}
	}
}
