package replication

import (
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// TestThrottleRespectsRateOverWindow sends as fast as the throttle lets a
// sender go, stepping a fake clock, and counts the bytes: over every
// window they stay within rate*window plus one second of rate (the
// bucket) plus one push, and over a long run they come close to the rate.
func TestThrottleRespectsRateOverWindow(t *testing.T) {
	const rate = 1 << 20 // 1 MiB/s
	const push = 64 << 10
	clock := &fakeClock{t: time.Unix(1000, 0)}
	th := NewThrottle(rate, clock.now)
	start := clock.t
	type sample struct {
		at    time.Duration
		total int64
	}
	var samples []sample
	var total int64
	step := 10 * time.Millisecond
	for clock.t.Sub(start) < 20*time.Second {
		for th.Ready() {
			th.Spend(push)
			total += push
		}
		samples = append(samples, sample{at: clock.t.Sub(start), total: total})
		clock.t = clock.t.Add(step)
	}
	slack := int64(rate + push)
	for i := range samples {
		for j := i + 1; j < len(samples); j += 37 {
			window := samples[j].at - samples[i].at
			sent := samples[j].total - samples[i].total
			if limit := int64(window.Seconds()*rate) + slack; sent > limit {
				t.Fatalf("%d bytes sent in %s, over the limit %d", sent, window, limit)
			}
		}
	}
	// Over 20 s, the sender got the rate (less one step's rounding).
	if want := int64(19 * rate); total < want {
		t.Fatalf("only %d bytes in 20s at %d B/s; want at least %d", total, rate, want)
	}
}

// TestThrottleNoLimit: a zero rate gives no throttle, and a nil one
// allows everything.
func TestThrottleNoLimit(t *testing.T) {
	th := NewThrottle(0, nil)
	if th != nil {
		t.Fatalf("NewThrottle(0) = %v, want nil", th)
	}
	th.Spend(1 << 30)
	if !th.Ready() {
		t.Fatal("a nil throttle is not ready")
	}
}

// TestThrottleOverdraftWaits: a push larger than the bucket goes out, and
// the next waits until the debt is paid.
func TestThrottleOverdraftWaits(t *testing.T) {
	clock := &fakeClock{t: time.Unix(0, 0)}
	th := NewThrottle(1000, clock.now)
	if !th.Ready() {
		t.Fatal("a fresh throttle is not ready")
	}
	th.Spend(3000) // 1000 in the bucket: 2000 owed
	clock.t = clock.t.Add(1999 * time.Millisecond)
	if th.Ready() {
		t.Fatal("ready before the overdraft was paid")
	}
	clock.t = clock.t.Add(2 * time.Millisecond)
	if !th.Ready() {
		t.Fatal("not ready once the overdraft was paid")
	}
}
