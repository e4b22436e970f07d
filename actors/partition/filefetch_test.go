package partition

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/sluice-mq/sluice/messages"
)

// A FileFetchRequest selects the batches a FetchRequest copies, as a file
// range; errors come as a plain FetchResponse.
func TestReplicaFileFetch(t *testing.T) {
	h := newHarness(t, nil)
	h.produce(encode(t, 1, "a", "b"), 1)
	h.produce(encode(t, 1, "c"), 1)
	copied := h.fetch(1, 0, 0)
	f := request[*FileFetchResponse](h, &FileFetchRequest{&messages.FetchRequest{Offset: 1, MaxBytes: 1 << 20, LeaderEpoch: -1}})
	defer f.Range.Close()
	if len(f.Records) != 0 || f.HighWatermark != 3 || f.Range.Size != int64(len(copied.Records)) || f.Range.NextOffset != 3 {
		t.Fatalf("file fetch: %d record bytes, hw %d, range %+v; copying fetch %d bytes", len(f.Records), f.HighWatermark, f.Range, len(copied.Records))
	}
	var got bytes.Buffer
	if _, err := f.Range.Copy(&got); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(values(t, got.Bytes())) != "[0:a 1:b 2:c]" || !bytes.Equal(got.Bytes(), copied.Records) {
		t.Fatalf("range holds %v", values(t, got.Bytes()))
	}
	bad := request[*messages.FetchResponse](h, &FileFetchRequest{&messages.FetchRequest{Offset: 9, MaxBytes: 1 << 20, LeaderEpoch: -1}})
	wantCode(t, bad.ErrorCode, messages.ErrorCode_OFFSET_OUT_OF_RANGE, bad.ErrorMessage)
}

// A parked file fetch is answered with a range when data arrives, and a
// cancelled one at once without records.
func TestReplicaFileFetchParkedAndCancelled(t *testing.T) {
	h := newHarness(t, nil)
	parked := h.system.Root.RequestFuture(h.pid, &FileFetchRequest{&messages.FetchRequest{
		Offset: 0, MaxBytes: 1 << 20, MinBytes: 1, MaxWaitMs: 60_000, LeaderEpoch: -1,
	}}, requestTimeout)
	cancelled := h.system.Root.RequestFuture(h.pid, &FileFetchRequest{&messages.FetchRequest{
		Offset: 0, MaxBytes: 1 << 20, MinBytes: 1 << 20, MaxWaitMs: 60_000, LeaderEpoch: -1,
	}}, requestTimeout)
	h.produce(encode(t, 1, "woke"), 1)
	res, err := parked.Result()
	if err != nil {
		t.Fatal(err)
	}
	f := res.(*FileFetchResponse)
	defer f.Range.Close()
	if f.Range.Size == 0 || f.Range.Records != 1 {
		t.Fatalf("woken file fetch: range %+v", f.Range)
	}
	h.system.Root.Send(h.pid, &CancelFetch{Topic: h.cfg.Topic, Waiter: cancelled.PID()})
	res, err = cancelled.Result()
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := res.(*messages.FetchResponse); !ok || len(c.Records) != 0 || c.HighWatermark != 1 {
		t.Fatalf("cancelled fetch answered %T %+v", res, res)
	}
}
