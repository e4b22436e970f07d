package batch

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzSeeds returns valid batches of every codec, a control batch, and a
// few corruptions of them.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for i, codec := range allCodecs {
		opts := EncodeOptions{Codec: codec, ProducerID: int64(i), ProducerEpoch: 1, BaseSequence: 3, Transactional: i%2 == 0, LogAppendTime: i == 3}
		b, err := Encode(testRecords(i+2), opts)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b)
		flipped := bytes.Clone(b)
		flipped[len(flipped)-2] ^= 0x41
		seeds = append(seeds, flipped, fixBatch(bytes.Clone(flipped)), b[:len(b)-3])
	}
	ctl, err := EncodeControl(ControlCommit, 9, 2, 4, 1_700_000_000_000)
	if err != nil {
		t.Fatal(err)
	}
	return append(seeds, ctl)
}

// FuzzBatchDecode checks that Decode never panics and that whatever it
// accepts re-encodes, with the same options, to a batch decoding to the
// same records and header fields. Each input is tried as is and with its
// length and CRC fixed, so mutations reach the records and codecs rather
// than stopping at the CRC.
func FuzzBatchDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b)
		if len(b) >= HeaderSize {
			checkDecode(t, fixBatch(bytes.Clone(b)))
		}
	})
}

func checkDecode(t *testing.T, b []byte) {
	h, recs, err := Decode(b)
	if err != nil || len(recs) == 0 {
		return
	}
	again, err := encode(recs, h.EncodeOptions(), h.Attributes.Control())
	if err != nil {
		t.Fatalf("re-encode: %v", err)
	}
	SetBaseOffset(again, h.BaseOffset)
	h2, recs2, err := Decode(again)
	if err != nil {
		t.Fatalf("decode re-encoded: %v", err)
	}
	sameRecords(t, recs2, recs)
	if h2.Attributes&0x3f != h.Attributes&0x3f || h2.ProducerID != h.ProducerID ||
		h2.ProducerEpoch != h.ProducerEpoch || h2.BaseSequence != h.BaseSequence ||
		h2.PartitionLeaderEpoch != h.PartitionLeaderEpoch || h2.RecordCount != h.RecordCount {
		t.Fatalf("header %+v re-encoded as %+v", h, h2)
	}
}

// FuzzBatchForEach checks that ForEach and Next never panic on a buffer of
// concatenated batches, that the valid prefix they report lies within the
// input, and that re-walking the valid prefix gives the same records.
func FuzzBatchForEach(f *testing.F) {
	seeds := fuzzSeeds(f)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add(bytes.Join(seeds[:4], nil))
	f.Add(bytes.Join([][]byte{seeds[0], seeds[4], seeds[8], seeds[12][:70]}, nil))
	f.Fuzz(func(t *testing.T, buf []byte) {
		var got []Record
		err := ForEach(buf, func(r Record) error {
			got = append(got, deepCopy(r))
			return nil
		})

		// The valid prefix: whole batches that Next splits off and
		// Decode accepts.
		var want []Record
		valid, rest := 0, buf
		var stop error
		for len(rest) > 0 {
			_, batch, next, nerr := Next(rest)
			if nerr != nil {
				stop = nerr
				break
			}
			_, recs, derr := Decode(batch)
			if derr != nil {
				stop = derr
				break
			}
			want = append(want, recs...)
			valid += len(batch)
			rest = next
		}
		if valid > len(buf) {
			t.Fatalf("valid prefix %d of %d bytes", valid, len(buf))
		}
		switch {
		case stop == nil || errors.Is(stop, ErrShortBatch):
			if err != nil {
				t.Fatalf("ForEach: %v, but the buffer ends in a whole or partial batch", err)
			}
			sameRecords(t, got, want)
		default:
			if err == nil {
				t.Fatalf("ForEach accepted a buffer with a bad batch: %v", stop)
			}
			if len(got) < len(want) {
				t.Fatalf("ForEach delivered %d records before failing, valid prefix holds %d", len(got), len(want))
			}
			sameRecords(t, got[:len(want)], want)
		}

		var again []Record
		if err := ForEach(buf[:valid], func(r Record) error {
			again = append(again, deepCopy(r))
			return nil
		}); err != nil {
			t.Fatalf("ForEach on the valid prefix: %v", err)
		}
		sameRecords(t, again, want)
	})
}
