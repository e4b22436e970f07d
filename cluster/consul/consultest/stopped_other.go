//go:build unix && !linux

package consultest

import "time"

// waitStopped cannot observe the stop here; it gives the signal a moment.
func waitStopped(pid int) error {
	time.Sleep(100 * time.Millisecond)
	return nil
}
