package main

import (
	"fmt"
	"syscall"
)

// raiseFileLimit raises the soft open-file limit (RLIMIT_NOFILE) to the
// hard limit and returns the limit in effect. The Go runtime does the
// same on start; doing it here as well makes the limit explicit and
// logged, since it bounds the partitions a node can serve actively.
func raiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("read open-file limit: %w", err)
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			return lim.Cur, fmt.Errorf("raise open-file limit to %d: %w", lim.Max, err)
		}
		lim = raised
	}
	return lim.Cur, nil
}
