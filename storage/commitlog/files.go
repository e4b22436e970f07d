package commitlog

import "errors"

// A log keeps descriptors only for the segment files in use: Open closes
// every segment's files once it has loaded them, a read or append opens
// the files it needs again, and ReleaseIdleFiles (called by the Flusher
// every checkpoint interval) closes those unused for an interval. A node
// holding thousands of mostly idle partitions so needs a descriptor per
// partition in use, not three per segment it holds.

// releaseAllLocked closes the descriptors of every segment after Open.
func (l *Log) releaseAllLocked() error {
	var errs []error
	for _, s := range l.segments {
		if _, err := s.ReleaseFiles(false); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ReleaseIdleFiles closes the descriptors of segment files unused since
// the previous call, fsyncing those with unsynced writes first, and
// returns how many it closed. It runs alongside appends and reads (they
// reopen what they need). An fsync or close error fails the log.
func (l *Log) ReleaseIdleFiles() (int, error) {
	l.mu.RLock()
	if l.writableLocked() != nil {
		l.mu.RUnlock()
		return 0, nil // failed or closed: nothing to release
	}
	var closed int
	var errs []error
	for _, s := range l.segments {
		n, err := s.ReleaseFiles(true)
		closed += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	l.mu.RUnlock()
	if err := errors.Join(errs...); err != nil {
		return closed, l.fail("release files", err)
	}
	return closed, nil
}

// OpenFiles returns how many segment files of the log hold a descriptor.
func (l *Log) OpenFiles() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	n := 0
	for _, s := range l.segments {
		n += s.OpenFiles()
	}
	return n
}
