package identity

import (
	"errors"
	"testing"
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
