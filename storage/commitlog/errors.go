package commitlog

import (
	"errors"
	"fmt"
	"syscall"
)

// Sentinel errors. Batch validation failures wrap the storage/batch
// sentinels (batch.ErrCorruptBatch, batch.ErrInvalidMagic,
// batch.ErrShortBatch) instead.
var (
	// ErrOffsetOutOfRange is matched by *OffsetOutOfRangeError.
	ErrOffsetOutOfRange = errors.New("commitlog: offset out of range")
	// ErrNonMonotonic is matched by *NonMonotonicError.
	ErrNonMonotonic = errors.New("commitlog: non-monotonic offsets")
	// ErrBatchTooLarge means a batch is bigger than Config.MaxBatchBytes.
	ErrBatchTooLarge = errors.New("commitlog: batch larger than the maximum")
	// ErrEmptyAppend means an append carried no batch.
	ErrEmptyAppend = errors.New("commitlog: append without batches")
	// ErrClosed means the log was closed.
	ErrClosed = errors.New("commitlog: log closed")
	// ErrLogFailed is matched by *FailedError: a write, fsync, rename or
	// delete of the log's files failed, and the log refuses further writes
	// because the state of its files is unknown.
	ErrLogFailed = errors.New("commitlog: log failed after an I/O error")
	// ErrInvalidConfig means a Config field is out of range.
	ErrInvalidConfig = errors.New("commitlog: invalid config")
	// ErrBadDir is matched by *DirError.
	ErrBadDir = errors.New("commitlog: unusable log directory")
)

// OffsetOutOfRangeError reports a read or truncation outside
// [LogStart, LogEnd].
type OffsetOutOfRangeError struct {
	Requested int64
	LogStart  int64
	LogEnd    int64
}

func (e *OffsetOutOfRangeError) Error() string {
	return fmt.Sprintf("commitlog: offset %d out of range [%d, %d]", e.Requested, e.LogStart, e.LogEnd)
}

// Is makes errors.Is(err, ErrOffsetOutOfRange) true.
func (e *OffsetOutOfRangeError) Is(target error) bool { return target == ErrOffsetOutOfRange }

// NonMonotonicError reports a replicated append whose offsets do not
// continue the log: Expected is the offset the batch at Index had to start
// at (or exceed, for batches after the first) and Got its base offset.
type NonMonotonicError struct {
	Index    int
	Expected int64
	Got      int64
}

func (e *NonMonotonicError) Error() string {
	if e.Index == 0 {
		return fmt.Sprintf("commitlog: replicated batch starts at offset %d, log end offset is %d", e.Got, e.Expected)
	}
	return fmt.Sprintf("commitlog: replicated batch %d starts at offset %d, expected at least %d", e.Index, e.Got, e.Expected)
}

// Is makes errors.Is(err, ErrNonMonotonic) true.
func (e *NonMonotonicError) Is(target error) bool { return target == ErrNonMonotonic }

// DirError reports a log directory that cannot be created, read or used.
type DirError struct {
	Path string
	Err  error
}

func (e *DirError) Error() string {
	return fmt.Sprintf("commitlog: log directory %s: %v", e.Path, e.Err)
}

// Unwrap returns the underlying error.
func (e *DirError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrBadDir) true.
func (e *DirError) Is(target error) bool { return target == ErrBadDir }

// FailedError is the failure of a log: the operation whose I/O error
// failed it and that error. It matches ErrLogFailed and unwraps to the
// cause, so errors.Is(err, syscall.ENOSPC) tells a full disk.
type FailedError struct {
	// Dir is the log's directory.
	Dir string
	// Op names what failed: "append", "fsync", "roll", "truncate",
	// "delete segments", "checkpoint", "epoch checkpoint", "swap", "open".
	Op  string
	Err error
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("commitlog: log %s failed: %s: %v", e.Dir, e.Op, e.Err)
}

// Unwrap returns the I/O error.
func (e *FailedError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrLogFailed) true.
func (e *FailedError) Is(target error) bool { return target == ErrLogFailed }

// DiskFull reports whether the cause is a full disk (ENOSPC).
func (e *FailedError) DiskFull() bool { return errors.Is(e.Err, syscall.ENOSPC) }
