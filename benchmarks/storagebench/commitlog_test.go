package storagebench

import (
	"fmt"
	"testing"

	"github.com/sluice-mq/sluice/storage/commitlog"
)

// commitlogLog adapts *commitlog.Log to Log.
type commitlogLog struct {
	*commitlog.Log
	flusher *commitlog.Flusher
}

func (c commitlogLog) Append(batches []byte) (int64, error) {
	info, err := c.Log.Append(batches, 0)
	return info.LastOffset, err
}

func (c commitlogLog) ReadAppend(dst []byte, offset int64, maxBytes int) ([]byte, error) {
	return c.Log.ReadAppend(dst, offset, maxBytes, 1<<62)
}

func (c commitlogLog) Destroy() error {
	err := c.Log.Delete()
	if c.flusher != nil {
		c.flusher.Close()
	}
	return err
}

func openCommitlog(policy commitlog.FlushPolicy) Opener {
	return func(b *testing.B) Log {
		var opts []commitlog.Option
		var f *commitlog.Flusher
		if policy == commitlog.FlushInterval {
			f = commitlog.NewFlusher(0)
			opts = append(opts, commitlog.WithFlusher(f))
		}
		l, err := commitlog.Open(b.TempDir(), commitlog.Config{FlushPolicy: policy}, opts...)
		if err != nil {
			b.Fatal(err)
		}
		return commitlogLog{Log: l, flusher: f}
	}
}

// BenchmarkCommitlogAppend: 64 KiB batches of 1 KiB and 100 B records,
// for each flush policy; durable runs wait for the fsync of every append,
// with 1 and 4 concurrent appenders (group commit).
func BenchmarkCommitlogAppend(b *testing.B) {
	for _, rec := range []int{1024, 100} {
		b.Run(fmt.Sprintf("record=%dB/flush=never", rec), func(b *testing.B) {
			Append(b, openCommitlog(commitlog.FlushNever), Workload{RecordBytes: rec, BatchBytes: 64 << 10})
		})
		for _, appenders := range []int{1, 4} {
			for _, policy := range []commitlog.FlushPolicy{commitlog.FlushInterval, commitlog.FlushAlways} {
				b.Run(fmt.Sprintf("record=%dB/flush=%v/appenders=%d", rec, policy, appenders), func(b *testing.B) {
					Append(b, openCommitlog(policy), Workload{RecordBytes: rec, BatchBytes: 64 << 10, Durable: true, Appenders: appenders})
				})
			}
		}
	}
}

// BenchmarkCommitlogRead: sequential reads of a 256 MiB log in 1 MiB
// calls, page cache warm.
func BenchmarkCommitlogRead(b *testing.B) {
	Read(b, openCommitlog(commitlog.FlushNever), Workload{RecordBytes: 1024, BatchBytes: 64 << 10}, 256<<20, 1<<20)
}
