package commitlog

import (
	"os"
	"path/filepath"
	"testing"
)

// openFDs counts the process's descriptors open on files under dir.
func openFDs(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range entries {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && filepath.Dir(target) == dir {
			n++
		}
	}
	return n
}

func TestLogFilesOpenLazilyAndCloseWhenIdle(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{SegmentBytes: 16 << 10}
	l := mustOpen(t, dir, cfg)
	batches := appendN(t, l, 40, 4, 1000, 0) // several segments
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	if l.OpenFiles() == 0 {
		t.Fatal("no files open after appends")
	}
	// The first pass clears the use marks; the second closes what stayed
	// unused between them.
	if _, err := l.ReleaseIdleFiles(); err != nil {
		t.Fatal(err)
	}
	if n, err := l.ReleaseIdleFiles(); err != nil || n == 0 {
		t.Fatalf("second ReleaseIdleFiles = %d, %v; want descriptors closed", n, err)
	}
	if got := l.OpenFiles(); got != 0 {
		t.Fatalf("OpenFiles after idle release = %d, want 0", got)
	}
	if got := openFDs(t, dir); got != 0 {
		t.Fatalf("%d descriptors open in the log dir after idle release", got)
	}
	// Reads and appends open what they need again.
	checkReads(t, l, batches)
	more := appendN(t, l, 3, 2, 100, 100)
	checkReads(t, l, append(batches, more...))

	// A file used since the last pass stays open; unsynced writes are
	// fsynced before a release closes them, and nothing is lost.
	if _, err := l.ReleaseIdleFiles(); err != nil {
		t.Fatal(err)
	}
	if l.OpenFiles() == 0 {
		t.Fatal("files used since the last pass were closed")
	}
	if _, err := l.ReleaseIdleFiles(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// Open holds no descriptors once it has loaded the segments.
	r := mustOpen(t, dir, cfg)
	if got := r.OpenFiles(); got != 0 {
		t.Fatalf("OpenFiles after Open = %d, want 0", got)
	}
	if got := openFDs(t, dir); got != 0 {
		t.Fatalf("%d descriptors open in the log dir after Open", got)
	}
	checkReads(t, r, append(batches, more...))
}

func TestLogReleasedFilesSurviveUncleanStop(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{SegmentBytes: 16 << 10}
	l := mustOpen(t, dir, cfg)
	batches := appendN(t, l, 30, 4, 1000, 0)
	// Close every descriptor (unsynced writes are fsynced first), then
	// append more through reopened files and stop without Close: the
	// clean-shutdown marker is missing, so Open recovers from the
	// recovery point, and every batch is there.
	for range 2 {
		if _, err := l.ReleaseIdleFiles(); err != nil {
			t.Fatal(err)
		}
	}
	more := appendN(t, l, 5, 2, 500, 50)
	all := append(batches, more...)
	// Simulate the crash: the process dies with the log open.
	if _, err := os.Stat(filepath.Join(dir, CleanShutdownFile)); err == nil {
		t.Fatal("clean-shutdown marker present while the log is open")
	}
	r, err := Open(dir, cfg)
	if err != nil {
		t.Fatalf("reopen after unclean stop: %v", err)
	}
	defer r.Close()
	checkReads(t, r, all)
	if got := r.LogEndOffset(); got != all[len(all)-1].last+1 {
		t.Fatalf("next offset after recovery = %d, want %d", got, all[len(all)-1].last+1)
	}
}
