package partition

// OpenLimit bounds how many replicas of a node open their logs (and take
// their first role, which writes the epoch checkpoint) at the same time.
// A node that starts or creates thousands of partitions at once would
// otherwise run thousands of goroutines in file syscalls together, each
// holding an OS thread, and the guardian and the network goroutines would
// wait behind them: metadata requests timed out while 10,000 replicas
// opened. Waiting replicas are parked goroutines; requests to them wait
// in their mailboxes until their log is open, as they would anyway.
//
// One per node, shared by its replicas; a nil *OpenLimit bounds nothing.
// It is safe for concurrent use.
type OpenLimit struct {
	slots chan struct{}
}

// NewOpenLimit returns a limit of n concurrent opens (at least 1).
func NewOpenLimit(n int) *OpenLimit {
	return &OpenLimit{slots: make(chan struct{}, max(n, 1))}
}

// acquire waits for a slot; each acquire is paired with a release.
func (l *OpenLimit) acquire() {
	if l != nil {
		l.slots <- struct{}{}
	}
}

func (l *OpenLimit) release() {
	if l != nil {
		<-l.slots
	}
}
