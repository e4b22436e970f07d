package partition

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster/metadata"
	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// Header field positions a forger edits (see storage/batch's doc).
const (
	fieldLength          = 8
	fieldCRC             = 17
	fieldLastOffsetDelta = 23
	fieldMaxTimestamp    = 35
	fieldRecordCount     = 57
)

// forged edits a copy of b and recomputes its length and CRC, so only a
// check of the content can tell.
func forged(b []byte, edit func(b []byte) []byte) []byte {
	b = edit(bytes.Clone(b))
	binary.BigEndian.PutUint32(b[fieldLength:], uint32(len(b)-batch.LogOverhead))
	binary.BigEndian.PutUint32(b[fieldCRC:], batch.Checksum(b))
	return b
}

func encodeWith(t *testing.T, codec batch.Codec, ts int64, values ...string) []byte {
	t.Helper()
	recs := make([]batch.Record, len(values))
	for i, v := range values {
		recs[i] = batch.Record{Timestamp: ts, Value: []byte(v)}
	}
	opts := batch.DefaultEncodeOptions()
	opts.Codec = codec
	b, err := batch.Encode(recs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReplicaRefusesForgedBatches(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *State) { c.TopicConfig.MaxMessageBytes = 16 << 10 })
	if resp := h.produce(encode(t, 0, "first"), 1); resp.ErrorCode != messages.ErrorCode_NONE {
		t.Fatalf("produce: %v %s", resp.ErrorCode, resp.ErrorMessage)
	}
	one := encode(t, 0, "v")
	set32 := func(off int, v uint32) func([]byte) []byte {
		return func(b []byte) []byte { binary.BigEndian.PutUint32(b[off:], v); return b }
	}
	// 4 MiB of zeros compress to a few hundred bytes; the limit is 1 MiB.
	bomb := encodeWith(t, batch.CodecZstd, baseTime, string(make([]byte, 4<<20)))
	cases := []struct {
		name    string
		records []byte
		want    messages.ErrorCode
	}{
		{"lastOffsetDelta 2^30", forged(one, set32(fieldLastOffsetDelta, 1<<30)), messages.ErrorCode_INVALID_RECORD},
		{"record count 3 for one record", forged(one, func(b []byte) []byte {
			set32(fieldRecordCount, 3)(b)
			return set32(fieldLastOffsetDelta, 2)(b)
		}), messages.ErrorCode_INVALID_RECORD},
		{"garbage records", forged(one, func(b []byte) []byte {
			return append(b[:batch.HeaderSize], "garbage, not records"...)
		}), messages.ErrorCode_INVALID_RECORD},
		{"bad varint", forged(one, func(b []byte) []byte {
			return append(b[:batch.HeaderSize], bytes.Repeat([]byte{0xff}, 11)...)
		}), messages.ErrorCode_INVALID_RECORD},
		{"trailing bytes", forged(one, func(b []byte) []byte { return append(b, 0, 0, 0, 0) }), messages.ErrorCode_INVALID_RECORD},
		{"wrong maxTimestamp", forged(one, func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[fieldMaxTimestamp:], uint64(baseTime+999_999))
			return b
		}), messages.ErrorCode_INVALID_RECORD},
		{"zstd bomb", bomb, messages.ErrorCode_INVALID_RECORD},
		{"log append time from a producer", forged(one, func(b []byte) []byte { b[22] |= 0x08; return b }), messages.ErrorCode_INVALID_TIMESTAMP},
		{"good batch then forged", append(encode(t, 0, "a", "b"), forged(one, set32(fieldLastOffsetDelta, 1<<30))...), messages.ErrorCode_INVALID_RECORD},
		{"bad crc", func() []byte { b := bytes.Clone(one); b[len(b)-1] ^= 1; return b }(), messages.ErrorCode_CORRUPT_MESSAGE},
	}
	for _, c := range cases {
		resp := h.produce(c.records, 1)
		if resp.ErrorCode != c.want {
			t.Errorf("%s: %v %q, want %v", c.name, resp.ErrorCode, resp.ErrorMessage, c.want)
		}
		if st := h.status(); st.LogEndOffset != 1 {
			t.Fatalf("%s: log end offset %d, want 1", c.name, st.LogEndOffset)
		}
	}
	if resp := h.produce(encode(t, 0, "second"), 1); resp.ErrorCode != messages.ErrorCode_NONE || resp.BaseOffset != 1 {
		t.Fatalf("produce after the forgeries: %+v", resp)
	}
	if got := values(t, h.fetch(0, 0, 0).Records); fmt.Sprint(got) != "[0:first 1:second]" {
		t.Fatalf("log holds %v", got)
	}
}

func TestReplicaLogAppendTime(t *testing.T) {
	h := newHarness(t, func(c *Config, _ *State) {
		c.TopicConfig.MessageTimestampType = metadata.TimestampLogAppendTime
	})
	before := time.Now().UnixMilli()
	produced := append(encode(t, 0, "a", "b"), encodeWith(t, batch.CodecLZ4, baseTime+5, "c")...)
	resp := h.produce(produced, 1)
	after := time.Now().UnixMilli()
	if resp.ErrorCode != messages.ErrorCode_NONE || resp.LogAppendTimeMs < before || resp.LogAppendTimeMs > after {
		t.Fatalf("produce: %v %s, log append time %d, want one in [%d, %d]", resp.ErrorCode, resp.ErrorMessage, resp.LogAppendTimeMs, before, after)
	}
	raw := h.fetch(0, 0, 0).Records
	for rest := raw; len(rest) > 0; {
		hdr, err := batch.ParseHeader(rest)
		if err != nil {
			t.Fatal(err)
		}
		if !hdr.Attributes.LogAppendTime() || hdr.MaxTimestamp < before || hdr.MaxTimestamp > after {
			t.Fatalf("batch at %d: log append time %v, maxTimestamp %d, want one in [%d, %d]",
				hdr.BaseOffset, hdr.Attributes.LogAppendTime(), hdr.MaxTimestamp, before, after)
		}
		rest = rest[hdr.Size():]
	}
	n := 0
	if err := batch.ForEach(raw, func(r batch.Record) error {
		n++
		if r.Timestamp < before || r.Timestamp > after {
			return fmt.Errorf("record %d has timestamp %d, want the append time in [%d, %d]", r.Offset, r.Timestamp, before, after)
		}
		return nil
	}); err != nil || n != 3 {
		t.Fatalf("%d records: %v", n, err)
	}
}

func TestReplicaCompressionType(t *testing.T) {
	for _, c := range []struct {
		compression string
		want        []batch.Codec // of the stored batches: gzip, none, zstd produced
	}{
		{"zstd", []batch.Codec{batch.CodecZstd, batch.CodecZstd, batch.CodecZstd}},
		{"producer", []batch.Codec{batch.CodecGzip, batch.CodecNone, batch.CodecZstd}},
		{"uncompressed", []batch.Codec{batch.CodecNone, batch.CodecNone, batch.CodecNone}},
		{"lz4", []batch.Codec{batch.CodecLZ4, batch.CodecLZ4, batch.CodecLZ4}},
	} {
		t.Run(c.compression, func(t *testing.T) {
			h := newHarness(t, func(cfg *Config, _ *State) { cfg.TopicConfig.CompressionType = c.compression })
			produced := append(append(encodeWith(t, batch.CodecGzip, baseTime, "g1", "g2"),
				encodeWith(t, batch.CodecNone, baseTime+1, "n1")...),
				encodeWith(t, batch.CodecZstd, baseTime+2, "z1", "z2")...)
			if resp := h.produce(produced, 1); resp.ErrorCode != messages.ErrorCode_NONE || resp.LogAppendTimeMs != -1 {
				t.Fatalf("produce: %v %s, log append time %d on a CreateTime topic", resp.ErrorCode, resp.ErrorMessage, resp.LogAppendTimeMs)
			}
			raw := h.fetch(0, 0, 0).Records
			var codecs []batch.Codec
			for rest := raw; len(rest) > 0; {
				hdr, err := batch.ParseHeader(rest)
				if err != nil {
					t.Fatal(err)
				}
				codecs = append(codecs, hdr.Attributes.Codec())
				rest = rest[hdr.Size():]
			}
			if fmt.Sprint(codecs) != fmt.Sprint(c.want) {
				t.Fatalf("stored codecs %v, want %v", codecs, c.want)
			}
			var ts []int64
			if err := batch.ForEach(raw, func(r batch.Record) error { ts = append(ts, r.Timestamp-baseTime); return nil }); err != nil {
				t.Fatal(err)
			}
			if got := values(t, raw); fmt.Sprint(got) != "[0:g1 1:g2 2:n1 3:z1 4:z2]" || fmt.Sprint(ts) != "[0 0 1 2 2]" {
				t.Fatalf("stored %v with timestamps %v", got, ts)
			}
		})
	}
}

// TestFollowerRefusesForgedPush sends a follower a push, claiming to come
// from its leader, of a batch with a recomputed CRC over records that do
// not parse: the follower appends nothing, and real replication goes on.
// (A lastOffsetDelta far beyond the record count alone is legal from a
// leader: compaction leaves such batches.)
func TestFollowerRefusesForgedPush(t *testing.T) {
	g := newReplicaGroup(t, []int32{1, 2}, nil, nil)
	state := State{Leader: 1, LeaderEpoch: 2, Replicas: []int32{1, 2}, ISR: []int32{1, 2}}
	g.startAll(state)
	wantCode(t, g.produce(1, encode(t, 0, "a"), -1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	g.waitCaughtUp(1)

	forgedBatch := forged(encode(t, 1, "x"), func(b []byte) []byte {
		binary.BigEndian.PutUint64(b[0:], 1)
		binary.BigEndian.PutUint32(b[fieldLastOffsetDelta:], 1<<30)
		return append(b[:batch.HeaderSize], "garbage, not records"...)
	})
	resp := groupRequest[*messages.ReplicateResponse](g, 2, &messages.ReplicateRequest{
		Topic: "orders", LeaderEpoch: 2, LeaderId: 1, BaseOffset: 1, EndOffset: 1 + 1<<30 + 1,
		Records: forgedBatch, LeaderHw: 1, Seq: 1 << 40,
	})
	if resp.GetLeo() != 1 {
		t.Fatalf("follower answered a forged push with log end %d, want 1", resp.GetLeo())
	}
	if st := g.status(2); st.LogEndOffset != 1 {
		t.Fatalf("follower log end %d after a forged push, want 1", st.LogEndOffset)
	}
	wantCode(t, g.produce(1, encode(t, 2, "b"), -1, 0).ErrorCode, messages.ErrorCode_NONE, "")
	g.waitCaughtUp(1)
	if got := fmt.Sprint(values(t, g.sameLogs())); got != "[0:a 1:b]" {
		t.Fatalf("logs hold %s", got)
	}
}
