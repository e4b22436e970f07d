package identity

import (
	"errors"
	"testing"

	"github.com/sluice-mq/sluice/cluster/metadata"
)

func FuzzIdentityDecode(f *testing.F) {
	f.Add(Encode(Identity{ClusterID: "0123abcd", NodeID: 7}))
	f.Add([]byte("version=1\ncluster.id=a\nnode.id=-1\n# c\n\nx=y\n"))
	f.Add([]byte("version=1\r\ncluster.id=a\r\nnode.id=2147483648\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		again, err := Decode(Encode(id))
		if err != nil || again != id {
			t.Fatalf("round trip of %+v: %+v %v", id, again, err)
		}
	})
}

func FuzzPartitionDecode(f *testing.F) {
	b, _ := EncodePartition(metadata.Topic{Name: "orders", ID: "ab", Replicas: [][]int32{{1, 2}}, Configs: map[string]string{"retention.ms": "1"}})
	f.Add(b)
	f.Add([]byte(`{"version":1,"topic":{"name":"x","id":"1","replicas":[[1]]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		topic, err := DecodePartition(b)
		if err != nil {
			if !errors.Is(err, ErrCorruptPartition) {
				t.Fatalf("error %v does not wrap ErrCorruptPartition", err)
			}
			return
		}
		enc, err := EncodePartition(topic)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodePartition(enc); err != nil {
			t.Fatalf("round trip of %+v: %v", topic, err)
		}
	})
}
