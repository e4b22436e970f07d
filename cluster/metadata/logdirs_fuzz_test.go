package metadata

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/sluice-mq/sluice/cluster"
)

// FuzzDecodeLogDirs: any stored value decodes or is refused without a
// panic; a decoded record encodes back to one that decodes the same, and
// addLogDirs counts an undecodable record of a node as offline.
func FuzzDecodeLogDirs(f *testing.F) {
	f.Add("log-dirs/1", []byte(`{"node_id":1,"offline":[{"dir":"/d","error":"EIO","since_ms":5}]}`))
	f.Add("log-dirs/2", []byte(`{"node_id":2,"offline":[]}`))
	f.Add("log-dirs/3", []byte(`{not json`))
	f.Add("log-dirs/x", []byte(`{}`))
	f.Fuzz(func(t *testing.T, key string, value []byte) {
		kv := cluster.KV{Key: key, Value: value}
		m := map[int32]NodeLogDirs{}
		addLogDirs(m, kv)
		d, err := decodeLogDirs(kv)
		if err != nil {
			return
		}
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeLogDirs(cluster.KV{Key: key, Value: b})
		if err != nil || !reflect.DeepEqual(again, d) {
			t.Fatalf("re-decoded %+v, %v; want %+v", again, err, d)
		}
		if _, ok := m[d.NodeID]; ok != (len(d.Offline) > 0) {
			t.Fatalf("addLogDirs offline %v for %+v", ok, d)
		}
	})
}
