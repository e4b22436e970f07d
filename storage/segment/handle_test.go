package segment

import (
	"sync"
	"testing"
)

func TestSegmentReleaseFilesReopensOnUse(t *testing.T) {
	dir := t.TempDir()
	s := mustCreate(t, dir, 0, Options{IndexIntervalBytes: 512})
	// A new segment holds only its log file open.
	if got := s.OpenFiles(); got != 1 {
		t.Fatalf("OpenFiles after Create = %d, want 1 (the log)", got)
	}
	ws := fill(t, s, 50, 1000)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ReleaseFiles(false); err != nil || n != 3 {
		t.Fatalf("ReleaseFiles = %d, %v; want 3", n, err)
	}
	if got := s.OpenFiles(); got != 0 {
		t.Fatalf("OpenFiles after release = %d", got)
	}
	checkLookups(t, s, ws) // reopens the log
	more := fill(t, s, 10, 5000)
	ws = append(ws, more...)
	// Unsynced writes: release fsyncs them before closing.
	if _, err := s.ReleaseFiles(false); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir, 0, Options{IndexIntervalBytes: 512})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	checkLookups(t, r, ws)

	// Idle release spares a file used since the previous idle pass.
	if _, err := r.ReleaseFiles(true); err != nil {
		t.Fatal(err)
	}
	checkLookups(t, r, ws[:1])
	if n, err := r.ReleaseFiles(true); err != nil || r.OpenFiles() == 0 && n == 0 {
		t.Fatalf("idle release after use = %d, %v", n, err)
	}
	if _, err := r.ReleaseFiles(true); err != nil {
		t.Fatal(err)
	}
	if got := r.OpenFiles(); got != 0 {
		t.Fatalf("OpenFiles after two idle passes = %d", got)
	}
}

// Reads race releases without failing: a release waits for reads in
// progress and the next read reopens.
func TestSegmentReleaseFilesDuringReads(t *testing.T) {
	s := mustCreate(t, t.TempDir(), 0, Options{})
	ws := fill(t, s, 20, 0)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _ = s.ReleaseFiles(false)
		}
	}()
	for range 20 {
		for _, w := range ws {
			got, err := s.Read(w.base, 1, 1<<62)
			if err != nil || string(got) != string(w.bytes) {
				close(stop)
				wg.Wait()
				t.Fatalf("Read(%d) during releases = %d bytes, %v", w.base, len(got), err)
			}
		}
	}
	close(stop)
	wg.Wait()
}
