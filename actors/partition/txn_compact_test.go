package partition

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/cleaner"
)

// keyed builds a batch of one keyed record; pid < 0 for a plain one.
func keyed(t testing.TB, pid int64, seq int32, txn bool, key, value string) []byte {
	t.Helper()
	opts := batch.DefaultEncodeOptions()
	if pid >= 0 {
		opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence, opts.Transactional = pid, 0, seq, txn
	}
	b, err := batch.Encode([]batch.Record{{Timestamp: baseTime, Key: []byte(key), Value: []byte(value)}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The cleaner of a compacted topic cleans nothing past the last stable
// offset, and drops aborted records without letting them replace
// committed ones.
func TestCompactionRespectsTransactions(t *testing.T) {
	data := t.TempDir()
	c, err := cleaner.New(cleaner.Config{Dir: data, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := newHarness(t, func(cfg *Config, _ *State) {
		cfg.Dir = filepath.Join(data, "orders-0")
		cfg.Cleaner = c
		cfg.TopicConfig.CleanupPolicy = metadata.CleanupCompact
		cfg.TopicConfig.SegmentBytes = 200
		cfg.TopicConfig.MinCleanableDirtyRatio = 0.01
		cfg.TopicConfig.MinCompactionLag = 0
	})
	produce := func(b []byte) {
		t.Helper()
		r := h.produce(b, -1)
		wantCode(t, r.ErrorCode, messages.ErrorCode_NONE, r.ErrorMessage)
	}
	produce(keyed(t, -1, 0, false, "k", "committed"))                            // 0
	produce(keyed(t, 5, 0, true, "k", "aborted"))                                // 1
	produce(keyed(t, 5, 1, true, "x", "aborted-last"))                           // 2
	wantCode(t, h.marker(5, 0, 1, false).ErrorCode, messages.ErrorCode_NONE, "") // 3
	produce(keyed(t, -1, 0, false, "j", "j0"))                                   // 4
	produce(keyed(t, 6, 0, true, "j", "undecided"))                              // 5: stays open
	for i := range 6 {
		produce(keyed(t, -1, 0, false, fmt.Sprint("pad", i), "p")) // 6-11
	}
	if st := h.status(); st.Segments < 4 {
		t.Fatalf("%d segments: the test wants closed segments past the open transaction", st.Segments)
	}
	for {
		cleaned, err := c.CleanOnce()
		if err != nil {
			t.Fatal(err)
		}
		if !cleaned {
			break
		}
	}
	var all []string
	for off := int64(0); off < h.status().LogEndOffset; {
		f := h.fetchIsolated(off, ReadUncommitted)
		_, end, ok := batchRange(f.Records)
		if !ok {
			t.Fatalf("nothing read at %d", off)
		}
		all = append(all, dataValues(t, f.Records)...)
		off = end
	}
	got := fmt.Sprint(all)
	// k=committed stays (the aborted k does not replace it), the aborted
	// records go but the producer's last, j0 stays (the undecided j is
	// past the last stable offset, so nothing there was cleaned).
	want := "[0:committed 2:aborted-last 4:j0 5:undecided 6:p 7:p 8:p 9:p 10:p 11:p]"
	if got != want {
		t.Fatalf("after cleaning:\n%s\nwant\n%s", got, want)
	}
}
