package client

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// timerAlarm is a portable alarm on a runtime timer, to test lingerClock
// apart from the platform's alarm.
type timerAlarm struct {
	fired  chan struct{} // capacity 1
	closed chan struct{}
	once   sync.Once

	mu    sync.Mutex // guards timer
	timer *time.Timer
}

var errAlarmClosed = errors.New("alarm closed")

func newTimerAlarm() (alarm, error) {
	return &timerAlarm{fired: make(chan struct{}, 1), closed: make(chan struct{})}, nil
}

func (a *timerAlarm) set(d time.Duration) error {
	select {
	case <-a.closed:
		return errAlarmClosed
	default:
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.timer != nil {
		a.timer.Stop()
	}
	// A new setting clears an expiry not yet waited for, as a timerfd's.
	select {
	case <-a.fired:
	default:
	}
	a.timer = time.AfterFunc(d, func() {
		select {
		case a.fired <- struct{}{}:
		default:
		}
	})
	return nil
}

func (a *timerAlarm) wait() error {
	select {
	case <-a.fired:
		return nil
	case <-a.closed:
		return errAlarmClosed
	}
}

func (a *timerAlarm) close() error {
	a.once.Do(func() { close(a.closed) })
	return nil
}

// clockAlarms are the alarms every lingerClock test runs on.
func clockAlarms() map[string]func() (alarm, error) {
	alarms := map[string]func() (alarm, error){"timer": newTimerAlarm}
	if newSystemAlarm != nil {
		alarms["system"] = newSystemAlarm
	}
	return alarms
}

func startClock(t *testing.T, newAlarm func() (alarm, error)) *lingerClock {
	t.Helper()
	a, err := newAlarm()
	if err != nil {
		t.Fatal(err)
	}
	c := &lingerClock{alarm: a, done: make(chan struct{})}
	go c.run()
	t.Cleanup(c.close)
	return c
}

// awaitFired returns the next name fired on ch.
func awaitFired(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case name := <-ch:
		return name
	case <-time.After(10 * time.Second):
		t.Fatal("no timer fired in 10 s")
		return ""
	}
}

// TestLingerClockFiresInDeadlineOrder: timers fire in the order of
// their deadlines however they were reset, a stopped one never fires,
// a reset moves a timer's deadline earlier or later.
func TestLingerClockFiresInDeadlineOrder(t *testing.T) {
	for name, newAlarm := range clockAlarms() {
		t.Run(name, func(t *testing.T) {
			c := startClock(t, newAlarm)
			fired := make(chan string, 10)
			timer := func(name string) lingerTimer { return c.afterFunc(func() { fired <- name }) }
			a, b, d, stopped := timer("a"), timer("b"), timer("d"), timer("stopped")

			// Reset out of order, an earlier deadline after a later one.
			d.Reset(time.Hour)
			b.Reset(300 * time.Millisecond)
			a.Reset(100 * time.Millisecond)
			stopped.Reset(50 * time.Millisecond)
			if !stopped.Stop() || stopped.Stop() {
				t.Fatal("Stop: want true for a scheduled timer, then false")
			}
			// d moves from an hour to before b.
			if !d.Reset(200 * time.Millisecond) {
				t.Fatal("Reset of a scheduled timer reported it unscheduled")
			}
			// Were stopped still scheduled, it would fire first: every
			// fire pops the due timers earliest first.
			for _, want := range []string{"a", "d", "b"} {
				if got := awaitFired(t, fired); got != want {
					t.Fatalf("fired %s, want %s", got, want)
				}
			}
			if a.Stop() {
				t.Fatal("Stop of a fired timer reported it scheduled")
			}
			// A fired timer can be reset and fires again.
			a.Reset(time.Millisecond)
			if got := awaitFired(t, fired); got != "a" {
				t.Fatalf("fired %s after a's second reset", got)
			}
		})
	}
}

// TestLingerClockClose: close ends the clock's goroutine with a timer
// still pending.
func TestLingerClockClose(t *testing.T) {
	for name, newAlarm := range clockAlarms() {
		t.Run(name, func(t *testing.T) {
			a, err := newAlarm()
			if err != nil {
				t.Fatal(err)
			}
			c := &lingerClock{alarm: a, done: make(chan struct{})}
			go c.run()
			c.afterFunc(func() {}).Reset(time.Hour)
			c.close()
			select {
			case <-c.done:
			default:
				t.Fatal("close returned before the clock's goroutine ended")
			}
		})
	}
}

// TestProducerLingerOnClock: a producer with a linger seals its batches
// on its clock (the platform's alarm where there is one) and closes it.
func TestProducerLingerOnClock(t *testing.T) {
	c, fb := newFakeClient(t)
	fb.addTopic("t", 1, nil)
	p, err := NewProducer(c, ProducerConfig{Acks: AcksLeader, Linger: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if (p.clock != nil) != (newSystemAlarm != nil) {
		t.Fatalf("producer clock %v with a system alarm %v", p.clock != nil, newSystemAlarm != nil)
	}
	for i := range 3 {
		if _, off, err := p.Produce(testCtx(t), &Record{Topic: "t", Value: []byte("v")}); err != nil || off != int64(i) {
			t.Fatalf("record %d: offset %d, %v", i, off, err)
		}
	}
	if err := p.Close(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if p.clock != nil {
		select {
		case <-p.clock.done:
		default:
			t.Fatal("the producer's clock runs after Close")
		}
	}
}
