package clustertest

import (
	"testing"
	"time"
)

// awaitInterval is how often Await checks its condition.
const awaitInterval = 20 * time.Millisecond

// Await checks cond until it returns nil, and fails t naming what and
// cond's last error once timeout has passed without that. cond runs on the
// test's goroutine, so it may call t.Fatal itself for an answer no wait
// can mend.
func Await(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(awaitInterval)
	defer tick.Stop()
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		<-tick.C
	}
}
