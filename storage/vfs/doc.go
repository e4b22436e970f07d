// Package vfs is the file layer of the storage packages: an FS interface
// with the operations they use (open/create, positional and appending
// writes, fsync, truncate, rename, remove, readdir, stat), OS, the
// operating-system implementation used by default, and Faulty, a wrapper
// that injects errors into chosen writes, fsyncs and renames so tests can
// reproduce disk faults (EIO, ENOSPC) deterministically.
//
// The package has no on-disk format of its own.
//
//	fsys := vfs.NewFaulty(vfs.OS{})
//	fsys.Add(vfs.Rule{Op: vfs.OpWrite, Pattern: "*.log", AfterBytes: 4096, Err: syscall.ENOSPC})
//	f, _ := fsys.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
//	_, err := f.WriteAt(buf, 0) // fails once 4096 bytes went to *.log files
//
// A write that crosses a rule's byte budget is partial, as on a full disk:
// the bytes up to the budget reach the file and the error is returned.
package vfs
