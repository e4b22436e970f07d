package compaction

import (
	"fmt"
	"testing"

	"github.com/sluice-mq/sluice/storage/batch"
)

// Records of aborted transactions never make a committed record of their
// key go, and are dropped themselves (but for the producer's last
// record); committed transactional records compact as any.
func TestAbortedTransactionsDropped(t *testing.T) {
	txn := func(pid int64, seq int32) batch.EncodeOptions {
		return batch.EncodeOptions{ProducerID: pid, ProducerEpoch: 0, BaseSequence: seq, Transactional: true, PartitionLeaderEpoch: -1}
	}
	seg := append(plainBatch(t, 0, kv("k", "committed", 1), kv("j", "j0", 1)),
		encodeBatch(t, 2, txn(5, 0), kv("k", "aborted", 2), kv("x", "aborted-x", 2))...)
	seg = append(seg, encodeBatch(t, 4, txn(5, 2), kv("j", "aborted-last", 3))...)
	seg = append(seg, controlBatch(t, 5)...)
	seg = append(seg, encodeBatch(t, 6, txn(6, 0), kv("j", "j1", 4))...)
	opts := Options{Aborted: []AbortedTxn{{ProducerID: 5, FirstOffset: 2, LastOffset: 5}}}
	out, stats := compact(t, [][]byte{seg}, opts)
	got := fmt.Sprint(summary(decodeAll(t, out[0])))
	want := fmt.Sprint([]string{
		fmtRecord(0, "k", "committed", 1),
		fmtRecord(4, "j", "aborted-last", 3), // producer 5's last record
		fmtRecord(5, "control", "commit", 1000),
		fmtRecord(6, "j", "j1", 4),
	})
	if got != want {
		t.Fatalf("cleaned\n%s\nwant\n%s", got, want)
	}
	if stats.AbortedDropped != 2 {
		t.Fatalf("aborted dropped %d, want 2", stats.AbortedDropped)
	}
	// Without the aborted list the aborted "k" would have replaced the
	// committed one.
	out, _ = compact(t, [][]byte{seg}, Options{})
	if fmt.Sprint(summary(decodeAll(t, out[0]))) == want {
		t.Fatal("the aborted list changed nothing")
	}
}

// A marker goes, once its input may drop tombstones, when nothing of its
// transaction is left; it stays while a record of it is.
func TestMarkersDroppedWithTheirTransaction(t *testing.T) {
	txn := batch.EncodeOptions{ProducerID: 7, ProducerEpoch: 1, BaseSequence: 0, Transactional: true, PartitionLeaderEpoch: -1}
	// Producer 7's first transaction (k at 0) is superseded by a plain k
	// at 2 and committed at 1; its second (j at 3) stays, committed at 4.
	seg := append(encodeBatch(t, 0, txn, kv("k", "txn", 1)), controlBatch(t, 1)...)
	seg = append(seg, plainBatch(t, 2, kv("k", "plain", 2))...)
	txn.BaseSequence = 1
	seg = append(seg, encodeBatch(t, 3, txn, kv("j", "txn2", 3))...)
	seg = append(seg, controlBatch(t, 4)...)
	for _, drop := range []bool{false, true} {
		out, stats := compact(t, [][]byte{seg}, Options{DropMarkers: func(int) bool { return drop }})
		got := fmt.Sprint(summary(decodeAll(t, out[0])))
		want := []string{fmtRecord(1, "control", "commit", 1000)}
		if drop {
			want = nil
		}
		want = append(want, fmtRecord(2, "k", "plain", 2), fmtRecord(3, "j", "txn2", 3), fmtRecord(4, "control", "commit", 1000))
		if got != fmt.Sprint(want) {
			t.Fatalf("drop %v: cleaned\n%s\nwant\n%s", drop, got, want)
		}
		if drop != (stats.MarkersDropped == 1) {
			t.Fatalf("drop %v: %d markers dropped", drop, stats.MarkersDropped)
		}
	}
}
