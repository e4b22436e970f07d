package client

import (
	"testing"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// FuzzConsumerDecode feeds arbitrary fetch payloads to the consumer's
// decoder: it must not panic, and what it returns must be ordered records
// at or after the fetched position, with the position after the last.
func FuzzConsumerDecode(f *testing.F) {
	good, err := batch.Encode([]batch.Record{{Key: []byte("k"), Value: []byte("v")}, {Value: []byte("w")}}, batch.DefaultEncodeOptions())
	if err != nil {
		f.Fatal(err)
	}
	opts := batch.DefaultEncodeOptions()
	opts.Codec = batch.CodecSnappy
	compressed, err := batch.Encode([]batch.Record{{Value: []byte("compressed")}}, opts)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, int64(0))
	f.Add(good, int64(1))
	f.Add(append(append([]byte(nil), good...), compressed...), int64(0))
	f.Add(good[:len(good)-1], int64(0))
	f.Add([]byte{}, int64(3))
	cs := &Consumer{}
	tp := TopicPartition{Topic: "t", Partition: 0}
	f.Fuzz(func(t *testing.T, data []byte, from int64) {
		if from < 0 {
			from = -from
		}
		if next := nextFetchOffset(data, from); next < from {
			t.Fatalf("nextFetchOffset %d before %d", next, from)
		}
		_ = anyCompressed(data)
		if e := lastBatchEpoch(data); e != -1 && len(data) < batch.HeaderSize {
			t.Fatalf("epoch %d of a payload shorter than a batch header", e)
		}
		recs, next, err := cs.decode(tp, &fetchResult{offset: from, res: &messages.FetchResponse{Records: data}}, from)
		if err != nil {
			if len(recs) != 0 || next != from {
				t.Fatalf("error %v with %d records, next %d", err, len(recs), next)
			}
			return
		}
		prev := from - 1
		for _, r := range recs {
			if r.Offset <= prev {
				t.Fatalf("offset %d after %d (from %d)", r.Offset, prev, from)
			}
			prev = r.Offset
		}
		if next <= prev || next < from {
			t.Fatalf("next %d after %d records ending at %d, from %d", next, len(recs), prev, from)
		}
	})
}
