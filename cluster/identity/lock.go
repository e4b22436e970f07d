package identity

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// LockFileName is the lock file in a data dir.
const LockFileName = ".lock"

// ErrLocked means another process holds the data dir's lock.
var ErrLocked = errors.New("identity: data dir is in use by another process")

// DirLock is a held data dir lock; Unlock releases it.
type DirLock struct{ f *os.File }

// Lock takes the exclusive lock of dataDir, failing at once with an error
// wrapping ErrLocked (and naming the lock file) when another process holds
// it. The lock lasts until Unlock or the process exits.
func Lock(dataDir string) (*DirLock, error) {
	path := filepath.Join(dataDir, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("identity: open lock file %s: %w", path, err)
	}
	if err := flock(f); err != nil {
		_ = f.Close() // the lock error is the one to report
		return nil, fmt.Errorf("%w: lock file %s is held (is another sluiced running on %s?): %v", ErrLocked, path, dataDir, err)
	}
	return &DirLock{f: f}, nil
}

// Unlock releases the lock.
func (l *DirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the descriptor releases the lock
	l.f = nil
	return err
}
