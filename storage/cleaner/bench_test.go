package cleaner

import (
	"path/filepath"
	"testing"
)

// BenchmarkCleanMillionUpdates cleans a log of 1,000,000 updates to 1,000
// keys (small records, batches of 100) down to one record per key.
func BenchmarkCleanMillionUpdates(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		data := b.TempDir()
		clk := newClock()
		l := openLog(b, filepath.Join(data, "t-0"), 16<<20)
		produceUpdates(b, l, clk.Now(), 1_000_000, 1_000)
		seal(b, l)
		size := l.Size()
		c := newCleaner(b, data, clk)
		c.Register("t-0", l, policy())
		b.StartTimer()
		if cleaned, err := c.CleanOnce(); err != nil || !cleaned {
			b.Fatalf("CleanOnce = %v, %v", cleaned, err)
		}
		b.StopTimer()
		if n := len(readAll(b, l)); n != 1_000 {
			b.Fatalf("%d records after cleaning, want 1000", n)
		}
		b.ReportMetric(float64(size), "bytes-before")
		b.ReportMetric(float64(l.Size()), "bytes-after")
		b.SetBytes(size)
		b.StartTimer()
	}
}
