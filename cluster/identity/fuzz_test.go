package identity

import (
	"bytes"
	"encoding/json"
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

// FuzzPartitionID checks the partial read of partition.metadata against
// the full decode: whatever the full decode accepts, the partial read
// finds the same name and id; it never panics on anything else.
func FuzzPartitionID(f *testing.F) {
	b, _ := EncodePartition(metadata.Topic{Name: "orders", ID: "ab", Replicas: [][]int32{{1, 2}}, Configs: map[string]string{"retention.ms": "1"}})
	f.Add(b)
	f.Add([]byte(`{"topic":{"replicas":[[1]],"id":"1","name":"x"},"version":1}`))
	f.Add([]byte(`{"version":1,"topic":{"name":"x","id":"1","replicas":[[1],[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		name, id, perr := scanTopicID(json.NewDecoder(bytes.NewReader(b)))
		topic, err := DecodePartition(b)
		if err != nil {
			return
		}
		if perr != nil || name != topic.Name || id != topic.ID {
			t.Fatalf("partial read %q %q %v, full decode %q %q", name, id, perr, topic.Name, topic.ID)
		}
	})
}
