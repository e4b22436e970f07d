package client

import (
	"reflect"
	"testing"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// txnLog builds a fetched range: producer 1's transaction (offsets 0-1,
// aborted at 3), producer 2's (offset 2, committed at 4), a plain record
// (5) and producer 1's next transaction (6).
func txnLog(t *testing.T) []byte {
	t.Helper()
	var out []byte
	data := func(base int64, pid int64, n int, txn bool) {
		opts := batch.DefaultEncodeOptions()
		if pid >= 0 {
			opts.ProducerID, opts.ProducerEpoch, opts.BaseSequence, opts.Transactional = pid, 0, int32(base), txn
		}
		b := batch.NewBuilder(opts)
		for range n {
			b.Append(1, []byte("k"), []byte("v"), nil)
		}
		buf, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		batch.SetBaseOffset(buf, base)
		out = append(out, buf...)
	}
	marker := func(base int64, pid int64, ct batch.ControlType) {
		buf, err := batch.EncodeControl(ct, pid, 0, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		batch.SetBaseOffset(buf, base)
		out = append(out, buf...)
	}
	data(0, 1, 2, true)
	data(2, 2, 1, true)
	marker(3, 1, batch.ControlAbort)
	marker(4, 2, batch.ControlCommit)
	data(5, -1, 1, false)
	data(6, 1, 1, true)
	return out
}

func TestConsumerSkipsMarkersAndAbortedTransactions(t *testing.T) {
	log := txnLog(t)
	offsets := func(aborted []*messages.AbortedTransaction, data []byte) []int64 {
		var got []int64
		if err := forEachVisible(data, aborted, func(r batch.Record) error {
			got = append(got, r.Offset)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	// read_uncommitted: everything but the markers.
	if got := offsets(nil, log); !reflect.DeepEqual(got, []int64{0, 1, 2, 5, 6}) {
		t.Fatalf("read_uncommitted %v", got)
	}
	// read_committed: producer 1's aborted transaction is dropped up to
	// its ABORT marker; its next transaction is kept.
	aborted := []*messages.AbortedTransaction{{ProducerId: 1, FirstOffset: 0}}
	if got := offsets(aborted, log); !reflect.DeepEqual(got, []int64{2, 5, 6}) {
		t.Fatalf("read_committed %v", got)
	}
	// A truncated last batch ends the walk without an error.
	if got := offsets(aborted, log[:len(log)-5]); !reflect.DeepEqual(got, []int64{2, 5}) {
		t.Fatalf("truncated %v", got)
	}
	if l, err := ParseIsolationLevel("read_committed"); err != nil || l != ReadCommitted || l.String() != "read_committed" {
		t.Fatalf("parse %v %v", l, err)
	}
	if _, err := ParseIsolationLevel("serializable"); err == nil {
		t.Fatal("unknown level accepted")
	}
}
