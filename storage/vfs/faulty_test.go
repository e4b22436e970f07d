package vfs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func open(t *testing.T, fsys FS, path string) File {
	t.Helper()
	f, err := fsys.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

func TestWriteFaultIsPartialAfterBudget(t *testing.T) {
	dir := t.TempDir()
	fsys := NewFaulty(nil)
	fsys.Add(Rule{Op: OpWrite, Pattern: "*.log", AfterBytes: 10, Err: syscall.ENOSPC})
	f := open(t, fsys, filepath.Join(dir, "a.log"))
	if n, err := f.WriteAt([]byte("0123456"), 0); n != 7 || err != nil {
		t.Fatalf("first write = %d, %v; want 7, nil", n, err)
	}
	n, err := f.WriteAt([]byte("789abc"), 7)
	if n != 3 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("crossing write = %d, %v; want 3, ENOSPC", n, err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "a.log"))
	if !bytes.Equal(got, []byte("0123456789")) {
		t.Fatalf("file = %q; want the bytes up to the budget", got)
	}
	if n, err := f.Write([]byte("x")); n != 0 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write past budget = %d, %v", n, err)
	}
	// Other files are not affected.
	g := open(t, fsys, filepath.Join(dir, "a.index"))
	if _, err := g.WriteAt(make([]byte, 100), 0); err != nil {
		t.Fatalf("unmatched file: %v", err)
	}
	if fsys.Fired() != 2 {
		t.Fatalf("Fired = %d; want 2", fsys.Fired())
	}
	fsys.Clear()
	if _, err := f.Write([]byte("x")); err != nil {
		t.Fatalf("after Clear: %v", err)
	}
}

func TestSyncFaultAfterBytes(t *testing.T) {
	dir := t.TempDir()
	fsys := NewFaulty(OS{})
	fsys.Add(Rule{Op: OpSync, Pattern: filepath.Join(dir, "p-0", "*"), AfterBytes: 5})
	if err := os.Mkdir(filepath.Join(dir, "p-0"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := open(t, fsys, filepath.Join(dir, "p-0", "x.log"))
	other := open(t, fsys, filepath.Join(dir, "y.log"))
	if _, err := f.Write([]byte("abcd")); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("sync under budget: %v", err)
	}
	if _, err := f.Write([]byte("e")); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); !errors.Is(err, ErrInjected) {
		t.Fatalf("sync after budget = %v; want ErrInjected", err)
	}
	if _, err := other.Write(make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	if err := other.Sync(); err != nil {
		t.Fatalf("file outside the pattern: %v", err)
	}
}

func TestRenameFault(t *testing.T) {
	dir := t.TempDir()
	fsys := NewFaulty(nil)
	src, dst := filepath.Join(dir, "cp.tmp"), filepath.Join(dir, "cp")
	if err := os.WriteFile(src, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys.Add(Rule{Op: OpRename, Pattern: "*.tmp", Err: syscall.EIO})
	if err := fsys.Rename(src, dst); !errors.Is(err, syscall.EIO) {
		t.Fatalf("rename = %v; want EIO", err)
	}
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("failed rename must leave the source: %v", err)
	}
	fsys.Clear()
	if err := fsys.Rename(src, dst); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Stat(dst); err != nil {
		t.Fatal(err)
	}
}

func TestOSOpenMissingIsNilFile(t *testing.T) {
	f, err := OS{}.OpenFile(filepath.Join(t.TempDir(), "missing"), os.O_RDONLY, 0)
	if f != nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenFile(missing) = %v, %v", f, err)
	}
	if Default(nil) != (OS{}) {
		t.Fatal("Default(nil) is not OS")
	}
}
