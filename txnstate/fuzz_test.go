package txnstate

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// FuzzDecodeValue checks that the value decoder never panics, that what it
// accepts re-encodes to a value that decodes the same, and that it accepts
// what Kafka's encoder (kmsg) reads as version 0.
func FuzzDecodeValue(f *testing.F) {
	f.Add(sampleOngoing().Encode())
	v1 := kafkaValue(sampleOngoing(), 1)
	f.Add(v1.AppendTo(nil))
	f.Add([]byte{})
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		md, err := DecodeValue(b)
		if err != nil {
			return
		}
		if md == nil {
			if len(b) != 0 {
				t.Fatalf("nil value for %x", b)
			}
			return
		}
		again, err := DecodeValue(md.Encode())
		if err != nil || !reflect.DeepEqual(again, md) {
			t.Fatalf("re-decode %+v %v, first %+v", again, err, md)
		}
		// Version 0 values we accept are ones Kafka reads as well.
		if bytes.HasPrefix(b, []byte{0, 0}) {
			var kv kmsg.TxnMetadataValue
			if err := kv.ReadFrom(b); err != nil {
				t.Fatalf("kafka refuses %x: %v", b, err)
			}
		}
	})
}

// FuzzDecodeKey checks the key decoder the same way.
func FuzzDecodeKey(f *testing.F) {
	f.Add(EncodeKey("etl-1"))
	f.Add([]byte{0, 0, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := DecodeKey(b)
		if err != nil {
			return
		}
		if !bytes.Equal(EncodeKey(id), b) {
			t.Fatalf("key %x decodes to %q which encodes to %x", b, id, EncodeKey(id))
		}
	})
}
