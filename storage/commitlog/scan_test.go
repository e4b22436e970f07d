package commitlog

import (
	"bytes"
	"testing"

	"github.com/sluice-mq/sluice/storage/batch"
)

func TestScanBatches(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SegmentBytes = 1024
	l, err := Open(t.TempDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	batches := appendN(t, l, 20, 3, 200, 0)
	if l.NumSegments() < 3 {
		t.Fatalf("%d segments", l.NumSegments())
	}
	if got, want := l.ActiveSegmentBase(), l.Segments()[l.NumSegments()-1].BaseOffset; got != want {
		t.Fatalf("active segment base %d, want %d", got, want)
	}
	// From inside batch 7 (offsets 21-23): batch 7 on, across segments,
	// each readable whole.
	var seen []int64
	err = l.ScanBatches(22, func(h batch.Header, read func() ([]byte, error)) error {
		seen = append(seen, h.BaseOffset)
		b, err := read()
		if err != nil {
			return err
		}
		want := batches[len(seen)+6].bytes
		if !bytes.Equal(b, want) {
			t.Fatalf("batch at %d read back differs", h.BaseOffset)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 13 || seen[0] != 21 || seen[12] != 57 {
		t.Fatalf("scanned %v", seen)
	}
}
