package vfs

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
)

// ErrInjected is the error a Rule without Err returns.
var ErrInjected = errors.New("vfs: injected fault")

// Op names the operation a Rule fails.
type Op int

// The operations a Faulty FS can fail.
const (
	OpWrite Op = iota + 1
	OpSync
	OpRename
)

func (o Op) String() string {
	switch o {
	case OpWrite:
		return "write"
	case OpSync:
		return "sync"
	case OpRename:
		return "rename"
	}
	return fmt.Sprintf("op(%d)", int(o))
}

// Rule describes one injected fault.
type Rule struct {
	Op Op
	// Pattern is matched (filepath.Match) against the file's base name
	// and, if that fails, against its whole path; for OpRename the source
	// path is matched. Empty matches every file.
	Pattern string
	// AfterBytes lets that many bytes be written to matching files (all
	// of them together, counted from when the rule is added) before the
	// rule fires. For OpSync and OpRename it is compared with the bytes
	// written to matching files too, so "fail fsync after N bytes" works.
	AfterBytes int64
	// Err is returned when the rule fires; nil means ErrInjected.
	Err error
}

type rule struct {
	Rule
	written int64
}

// Faulty wraps an FS and fails the operations its rules select. Rules
// stay in force until Clear. It is safe for concurrent use.
type Faulty struct {
	inner FS
	mu    sync.Mutex
	rules []*rule
	fired int
}

// NewFaulty returns a Faulty over inner (OS when nil) with no rules.
func NewFaulty(inner FS) *Faulty { return &Faulty{inner: Default(inner)} }

// Add installs a rule.
func (f *Faulty) Add(r Rule) {
	if r.Err == nil {
		r.Err = ErrInjected
	}
	f.mu.Lock()
	f.rules = append(f.rules, &rule{Rule: r})
	f.mu.Unlock()
}

// Clear removes every rule: the disk is healthy again.
func (f *Faulty) Clear() {
	f.mu.Lock()
	f.rules = nil
	f.mu.Unlock()
}

// Fired reports how many times a rule has failed an operation.
func (f *Faulty) Fired() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fired
}

func matches(pattern, path string) bool {
	if pattern == "" {
		return true
	}
	if ok, _ := filepath.Match(pattern, filepath.Base(path)); ok {
		return true
	}
	ok, _ := filepath.Match(pattern, path)
	return ok
}

// allowWrite returns how many of n bytes for path may be written and the
// error to return after writing them (nil: all n).
func (f *Faulty) allowWrite(path string, n int) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	allow := int64(n)
	var err error
	for _, r := range f.rules {
		if !matches(r.Pattern, path) {
			continue
		}
		if r.Op == OpWrite {
			if left := r.AfterBytes - r.written; left < allow {
				allow, err = max(left, 0), r.Err
			}
		}
	}
	for _, r := range f.rules {
		if matches(r.Pattern, path) {
			r.written += allow
		}
	}
	if err != nil {
		f.fired++
	}
	return int(allow), err
}

// check returns the error of the first rule for op that fires on path.
func (f *Faulty) check(op Op, path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rules {
		if r.Op == op && matches(r.Pattern, path) && r.written >= r.AfterBytes {
			f.fired++
			return r.Err
		}
	}
	return nil
}

// OpenFile opens through the inner FS and wraps the file.
func (f *Faulty) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	inner, err := f.inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultyFile{File: inner, fs: f, path: name}, nil
}

// Rename fails if an OpRename rule matches oldpath.
func (f *Faulty) Rename(oldpath, newpath string) error {
	if err := f.check(OpRename, oldpath); err != nil {
		return &fs.PathError{Op: "rename", Path: oldpath, Err: err}
	}
	return f.inner.Rename(oldpath, newpath)
}

// Remove passes through.
func (f *Faulty) Remove(name string) error { return f.inner.Remove(name) }

// ReadDir passes through.
func (f *Faulty) ReadDir(name string) ([]fs.DirEntry, error) { return f.inner.ReadDir(name) }

// Stat passes through.
func (f *Faulty) Stat(name string) (fs.FileInfo, error) { return f.inner.Stat(name) }

type faultyFile struct {
	File
	fs   *Faulty
	path string
}

func (ff *faultyFile) WriteAt(p []byte, off int64) (int, error) {
	allow, ferr := ff.fs.allowWrite(ff.path, len(p))
	n, err := ff.File.WriteAt(p[:allow], off)
	if err != nil {
		return n, err
	}
	if ferr != nil {
		return n, &fs.PathError{Op: "write", Path: ff.path, Err: ferr}
	}
	return n, nil
}

func (ff *faultyFile) Write(p []byte) (int, error) {
	allow, ferr := ff.fs.allowWrite(ff.path, len(p))
	n, err := ff.File.Write(p[:allow])
	if err != nil {
		return n, err
	}
	if ferr != nil {
		return n, &fs.PathError{Op: "write", Path: ff.path, Err: ferr}
	}
	return n, nil
}

func (ff *faultyFile) Sync() error {
	if err := ff.fs.check(OpSync, ff.path); err != nil {
		return &fs.PathError{Op: "sync", Path: ff.path, Err: err}
	}
	return ff.File.Sync()
}
