package partition

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestOpenLimitBoundsConcurrentOpens: no more than n holders at once, and
// a nil limit bounds nothing.
func TestOpenLimitBoundsConcurrentOpens(t *testing.T) {
	l := NewOpenLimit(3)
	var holders, most atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.acquire()
			defer l.release()
			n := holders.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			holders.Add(-1)
		}()
	}
	wg.Wait()
	if m := most.Load(); m > 3 || m < 1 {
		t.Fatalf("%d holders at once, limit 3", m)
	}
	var none *OpenLimit
	none.acquire()
	none.release()
}
