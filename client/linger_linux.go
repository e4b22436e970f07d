//go:build linux

package client

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// The Linux alarm of lingerClock (linger.go): a timerfd. Opened
// non-blocking, os.File reads it through the runtime's poller, which
// epoll reports the expiry to at once, whatever millisecond timeout it
// was waiting with: the poller wakes within microseconds of the
// deadline. One timerfd_settime per linger armed, one read per expiry.

func init() { newSystemAlarm = newTimerfdAlarm }

type timerfdAlarm struct {
	f *os.File
}

func newTimerfdAlarm() (alarm, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("client: timerfd_create: %w", err)
	}
	return &timerfdAlarm{f: os.NewFile(uintptr(fd), "linger-timerfd")}, nil
}

// set arms the timerfd, relative to now on CLOCK_MONOTONIC (time.Now's
// monotonic clock). A new setting replaces the old one and clears an
// expiry not yet read.
func (a *timerfdAlarm) set(d time.Duration) error {
	rc, err := a.f.SyscallConn()
	if err != nil {
		return fmt.Errorf("client: linger timerfd: %w", err)
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(max(d, time.Microsecond).Nanoseconds())}
	var setErr error
	// Control holds the descriptor open for the call: a concurrent
	// close cannot hand its number to another file meanwhile.
	if err := rc.Control(func(fd uintptr) { setErr = unix.TimerfdSettime(int(fd), 0, &spec, nil) }); err != nil {
		return fmt.Errorf("client: linger timerfd: %w", err)
	}
	if setErr != nil {
		return fmt.Errorf("client: timerfd_settime: %w", setErr)
	}
	return nil
}

// wait reads the expiry count (8 bytes); the read parks the goroutine in
// the poller until the timerfd expires or is closed.
func (a *timerfdAlarm) wait() error {
	var expirations [8]byte
	_, err := a.f.Read(expirations[:])
	return err
}

func (a *timerfdAlarm) close() error { return a.f.Close() }
