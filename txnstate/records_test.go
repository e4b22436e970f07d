package txnstate

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func sampleOngoing() *Metadata {
	return &Metadata{
		ProducerID: 4000, ProducerEpoch: 3, LastProducerID: NoProducerID, LastProducerEpoch: NoProducerEpoch,
		Timeout: time.Minute, State: Ongoing,
		Partitions:     []Partition{{"__consumer_offsets", 7}, {"in", 0}, {"out", 1}, {"out", 2}},
		StartTimestamp: 1700000000000, LastUpdateTimestamp: 1700000000500,
	}
}

// kafkaValue is what Kafka (as kmsg encodes it) writes for md.
func kafkaValue(md *Metadata, version int16) kmsg.TxnMetadataValue {
	v := kmsg.NewTxnMetadataValue()
	v.Version = version
	v.ProducerID, v.ProducerEpoch = md.ProducerID, md.ProducerEpoch
	v.TimeoutMillis = int32(md.Timeout.Milliseconds())
	v.State = kmsg.TransactionState(md.State)
	v.LastUpdateTimestamp, v.StartTimestamp = md.LastUpdateTimestamp, md.StartTimestamp
	if md.State != Empty {
		v.Topics = []kmsg.TxnMetadataValueTopic{}
		for _, p := range md.Partitions {
			if n := len(v.Topics); n == 0 || v.Topics[n-1].Topic != p.Topic {
				v.Topics = append(v.Topics, kmsg.TxnMetadataValueTopic{Topic: p.Topic})
			}
			last := &v.Topics[len(v.Topics)-1]
			last.Partitions = append(last.Partitions, p.Partition)
		}
	}
	return v
}

func TestRecordsKafkaLayout(t *testing.T) {
	kk := kmsg.TxnMetadataKey{Version: 0, TransactionalID: "etl-1"}
	if got, want := EncodeKey("etl-1"), kk.AppendTo(nil); !bytes.Equal(got, want) {
		t.Fatalf("key %x, kafka %x", got, want)
	}
	if id, err := DecodeKey(kk.AppendTo(nil)); err != nil || id != "etl-1" {
		t.Fatalf("decode key %q %v", id, err)
	}

	empty := &Metadata{ProducerID: 9, ProducerEpoch: 0, LastProducerID: NoProducerID, LastProducerEpoch: NoProducerEpoch,
		Timeout: 15 * time.Second, State: Empty, StartTimestamp: -1, LastUpdateTimestamp: 5}
	complete := sampleOngoing()
	complete.State, complete.Partitions = CompleteCommit, nil
	for _, md := range []*Metadata{sampleOngoing(), empty, complete} {
		kv := kafkaValue(md, 0)
		if got, want := md.Encode(), kv.AppendTo(nil); !bytes.Equal(got, want) {
			t.Fatalf("%s value\n got %x\nkafka %x", md.State, got, want)
		}
		// What we write, Kafka reads back the same.
		var back kmsg.TxnMetadataValue
		if err := back.ReadFrom(md.Encode()); err != nil || !reflect.DeepEqual(back, kv) {
			t.Fatalf("%s: kafka reads %+v %v", md.State, back, err)
		}
		got, err := DecodeValue(md.Encode())
		if err != nil || !reflect.DeepEqual(got, md) {
			t.Fatalf("%s round trip %+v %v", md.State, got, err)
		}
	}

	// Version 1 (flexible, Kafka 4 with transaction version 2) decodes,
	// tagged fields skipped.
	v1 := kafkaValue(sampleOngoing(), 1)
	v1.PreviousProducerID, v1.NextProducerID, v1.NextProducerEpoch, v1.ClientTransactionVersion = 3999, 4001, 0, 2
	v1.Topics[1].UnknownTags.Set(9, []byte{1, 2, 3})
	got, err := DecodeValue(v1.AppendTo(nil))
	if err != nil || !reflect.DeepEqual(got, sampleOngoing()) {
		t.Fatalf("v1 %+v %v", got, err)
	}

	// An Empty state's partitions are dropped; partitions come back sorted
	// and unique whatever order the record holds them in.
	odd := kafkaValue(sampleOngoing(), 0)
	odd.Topics = []kmsg.TxnMetadataValueTopic{{Topic: "out", Partitions: []int32{2, 1, 2}}, {Topic: "in", Partitions: []int32{0}}}
	got, err = DecodeValue(odd.AppendTo(nil))
	if err != nil || !reflect.DeepEqual(got.Partitions, []Partition{{"in", 0}, {"out", 1}, {"out", 2}}) {
		t.Fatalf("unsorted %+v %v", got, err)
	}
	odd.State = kmsg.TransactionState(Empty)
	if got, err = DecodeValue(odd.AppendTo(nil)); err != nil || got.Partitions != nil {
		t.Fatalf("empty with partitions %+v %v", got, err)
	}
	// Tombstone.
	if got, err := DecodeValue(nil); got != nil || err != nil {
		t.Fatalf("tombstone %+v %v", got, err)
	}
}

func TestRecordsRejectBadInput(t *testing.T) {
	valid := sampleOngoing().Encode()
	// Every truncation fails cleanly.
	for n := 1; n < len(valid); n++ {
		if _, err := DecodeValue(valid[:n]); !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrInvalidRecord) {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
	key := EncodeKey("id")
	for n := 1; n < len(key); n++ {
		if _, err := DecodeKey(key[:n]); !errors.Is(err, ErrTruncated) {
			t.Fatalf("key cut at %d: %v", n, err)
		}
	}
	for _, c := range []struct {
		name string
		in   []byte
		want error
	}{
		{"value version 2", append([]byte{0, 2}, valid[2:]...), ErrUnknownVersion},
		{"negative version", append([]byte{0xff, 0xff}, valid[2:]...), ErrUnknownVersion},
		{"state 8", func() []byte { b := bytes.Clone(valid); b[2+8+2+4] = 8; return b }(), ErrInvalidRecord},
		{"trailing", append(bytes.Clone(valid), 0), ErrTrailingBytes},
		{"huge topic count", func() []byte { b := bytes.Clone(valid); b[2+8+2+4+1] = 0x7f; return b }(), ErrInvalidRecord},
	} {
		if _, err := DecodeValue(c.in); !errors.Is(err, c.want) {
			t.Fatalf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := DecodeKey([]byte{0, 1, 0, 0}); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("key version 1: %v", err)
	}
	if _, err := DecodeKey(append(EncodeKey("x"), 1)); !errors.Is(err, ErrTrailingBytes) {
		t.Fatalf("key trailing: %v", err)
	}
}

func TestStatesMatchKafka(t *testing.T) {
	// Kafka's ids and names (TransactionState.fromId, DescribeTransactions).
	want := []string{"Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence"}
	for i, s := range States() {
		if int(s) != i || s.String() != want[i] {
			t.Fatalf("state %d: %d %q", i, s, s)
		}
		if back, ok := ParseState(want[i]); !ok || back != s {
			t.Fatalf("parse %q: %v %v", want[i], back, ok)
		}
	}
	if _, ok := ParseState("Stable"); ok {
		t.Fatal("parsed a group state")
	}
	if StatePartition("etl-1", 50) != StatePartition("etl-1", 50) || StatePartition("", 50) != 0 {
		t.Fatal("partition")
	}
}
