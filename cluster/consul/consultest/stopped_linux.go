package consultest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// stoppedTimeout bounds waiting for a SIGSTOP to stop every thread.
const stoppedTimeout = 10 * time.Second

// waitStopped polls /proc until every thread of pid is stopped.
func waitStopped(pid int) error {
	deadline := time.Now().Add(stoppedTimeout)
	for {
		running, err := runningThreads(pid)
		if err != nil {
			return err
		}
		if running == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d threads of process %d still running after %v", running, pid, stoppedTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runningThreads counts pid's threads not in state T (stopped).
func runningThreads(pid int) (int, error) {
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(stats) == 0 {
		return 0, fmt.Errorf("threads of process %d: %v", pid, err)
	}
	running := 0
	for _, path := range stats {
		stat, err := os.ReadFile(path)
		if err != nil {
			running++ // a thread that just exited, or is racing; look again
			continue
		}
		// "pid (comm) S ...": the state follows the last ')'.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 || i+2 >= len(stat) || (stat[i+2] != 'T' && stat[i+2] != 't') {
			running++
		}
	}
	return running, nil
}
