package cleaner

import (
	"errors"
	"io"
	"sync"
	"time"
)

// errCancelled ends a clean whose log was unregistered or whose cleaner
// closed.
var errCancelled = errors.New("cleaner: clean cancelled")

// throttle limits the bytes every worker reads and writes together to a
// rate, like Kafka's log.cleaner.io.max.bytes.per.second: each call
// reserves its bytes on a shared schedule and waits until the schedule
// reaches them.
type throttle struct {
	perSecond float64 // <= 0: unlimited

	mu   sync.Mutex
	next time.Time // when the bytes reserved so far have been paid for
}

// wait blocks until n more bytes fit the rate, or cancel is closed.
func (t *throttle) wait(n int, cancel <-chan struct{}) error {
	select {
	case <-cancel:
		return errCancelled
	default:
	}
	if t == nil || t.perSecond <= 0 || n <= 0 {
		return nil
	}
	now := time.Now()
	t.mu.Lock()
	start := t.next
	if start.Before(now) {
		start = now
	}
	t.next = start.Add(time.Duration(float64(n) / t.perSecond * float64(time.Second)))
	t.mu.Unlock()
	if d := start.Sub(now); d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-cancel:
			return errCancelled
		}
	}
	return nil
}

// throttledReader reads through a throttle.
type throttledReader struct {
	r      io.ReadCloser
	t      *throttle
	cancel <-chan struct{}
}

func (r *throttledReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if werr := r.t.wait(n, r.cancel); werr != nil {
		return n, werr
	}
	return n, err
}

func (r *throttledReader) Close() error { return r.r.Close() }
