package partition

import "testing"

// TestOpenLimitBoundsConcurrentOpens: n holders fill the limit, one more
// cannot get in until one releases, and a nil limit bounds nothing.
func TestOpenLimitBoundsConcurrentOpens(t *testing.T) {
	l := NewOpenLimit(3)
	for range 3 {
		l.acquire()
	}
	select {
	case l.slots <- struct{}{}:
		t.Fatal("a fourth holder got in under a limit of 3")
	default:
	}
	l.release()
	select {
	case l.slots <- struct{}{}: // the freed slot, as acquire takes it
	default:
		t.Fatal("no slot after a release")
	}
	var none *OpenLimit
	none.acquire()
	none.release()
}
