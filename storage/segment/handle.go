package segment

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"

	"github.com/sluice-mq/sluice/storage/vfs"
)

// handle is one of a segment's files, opened when it is first used and
// closed again by release, so that a node's open files grow with the
// segments in use rather than with the segments it holds. It implements
// vfs.File; the segment reaches its files only through it.
//
// A handle with writes not yet fsynced is fsynced before release closes
// it: an fsync through a later descriptor of the same file would not
// report a writeback error that happened before it was opened.
type handle struct {
	fs   vfs.FS
	name string

	// used is set by every operation and cleared by releaseIdle; dirty
	// is set by writes and cleared by a successful Sync.
	used, dirty atomic.Bool

	mu     sync.RWMutex // guards the following
	f      vfs.File     // nil while released
	closed bool
}

// openHandle opens name with flag (creating or truncating it as flag
// says); the handle reopens it read-write later.
func openHandle(fsys vfs.FS, name string, flag int, perm fs.FileMode) (*handle, error) {
	f, err := fsys.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	h := &handle{fs: fsys, name: name, f: f}
	h.used.Store(true)
	return h, nil
}

// with runs fn on the open file, reopening it first if it was released.
func (h *handle) with(fn func(vfs.File) error) error {
	h.used.Store(true)
	for {
		h.mu.RLock()
		if h.closed {
			h.mu.RUnlock()
			return os.ErrClosed
		}
		if h.f != nil {
			err := fn(h.f)
			h.mu.RUnlock()
			return err
		}
		h.mu.RUnlock()
		h.mu.Lock()
		if h.f == nil && !h.closed {
			f, err := h.fs.OpenFile(h.name, os.O_RDWR, 0)
			if err != nil {
				h.mu.Unlock()
				return err
			}
			h.f = f
		}
		h.mu.Unlock()
	}
}

// release fsyncs the file if it has unsynced writes and closes its
// descriptor; the next operation opens it again. idleOnly releases only
// a handle unused since the last such call. It reports whether the
// descriptor was closed.
func (h *handle) release(idleOnly bool) (bool, error) {
	if idleOnly && h.used.Swap(false) {
		return false, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f == nil || h.closed {
		return false, nil
	}
	if h.dirty.Load() {
		if err := h.f.Sync(); err != nil {
			return false, err
		}
		h.dirty.Store(false)
	}
	err := h.f.Close()
	h.f = nil
	return true, err
}

// isOpen reports whether the handle holds a descriptor.
func (h *handle) isOpen() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.f != nil
}

func (h *handle) ReadAt(p []byte, off int64) (n int, err error) {
	err = h.with(func(f vfs.File) error { n, err = f.ReadAt(p, off); return err })
	return n, err
}

func (h *handle) WriteAt(p []byte, off int64) (n int, err error) {
	h.dirty.Store(true)
	err = h.with(func(f vfs.File) error { n, err = f.WriteAt(p, off); return err })
	return n, err
}

func (h *handle) Write(p []byte) (n int, err error) {
	h.dirty.Store(true)
	err = h.with(func(f vfs.File) error { n, err = f.Write(p); return err })
	return n, err
}

func (h *handle) Truncate(size int64) error {
	h.dirty.Store(true)
	return h.with(func(f vfs.File) error { return f.Truncate(size) })
}

func (h *handle) Sync() error {
	if !h.isOpen() && !h.dirty.Load() {
		return nil // released clean: everything it wrote was fsynced
	}
	return h.with(func(f vfs.File) error {
		h.dirty.Store(false)
		if err := f.Sync(); err != nil {
			h.dirty.Store(true)
			return err
		}
		return nil
	})
}

func (h *handle) Stat() (fi fs.FileInfo, err error) {
	err = h.with(func(f vfs.File) error { fi, err = f.Stat(); return err })
	return fi, err
}

// Close closes the descriptor (if open) for good; later operations fail
// with os.ErrClosed.
func (h *handle) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return os.ErrClosed
	}
	h.closed = true
	if h.f == nil {
		return nil
	}
	err := h.f.Close()
	h.f = nil
	return err
}

func (h *handle) Name() string { return h.name }

// ReleaseFiles closes the descriptors of the segment's files, fsyncing
// first those with writes not yet fsynced; the next read, write or sync
// opens them again. With idleOnly it closes only files unused since the
// previous ReleaseFiles(true), so calling it periodically closes what
// stayed idle for a period. It touches no segment state and may run
// while another goroutine appends to or reads the segment. It returns how
// many descriptors it closed; an error is an fsync or close failure.
func (s *Segment) ReleaseFiles(idleOnly bool) (int, error) {
	var closed int
	var errs []error
	for _, h := range []*handle{s.logFile, s.indexFile, s.timeFile} {
		if h == nil {
			continue
		}
		ok, err := h.release(idleOnly)
		if ok {
			closed++
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("segment: release %s: %w", h.Name(), err))
		}
	}
	return closed, errors.Join(errs...)
}

// OpenFiles returns how many of the segment's files hold a descriptor.
func (s *Segment) OpenFiles() int {
	n := 0
	for _, h := range []*handle{s.logFile, s.indexFile, s.timeFile} {
		if h != nil && h.isOpen() {
			n++
		}
	}
	return n
}
