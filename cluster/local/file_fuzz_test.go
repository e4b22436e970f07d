package local

import (
	"errors"
	"fmt"
	"hash/crc32"
	"reflect"
	"testing"
)

func FuzzDecodeFile(f *testing.F) {
	seed, err := encodeFile(3, map[string]entry{
		"topics/orders":       {value: []byte(`{"name":"orders"}`), version: 2},
		"partitions/orders/0": {value: []byte(`{"leader":1}`), version: 3},
	})
	if err != nil {
		f.Fatal(err)
	}
	empty, _ := encodeFile(0, map[string]entry{})
	f.Add(seed)
	f.Add(empty)
	f.Add([]byte("sluice-metadata 1 2 00000000\n{}"))
	f.Add([]byte{})
	f.Add([]byte(`{"index":1,"keys":[{"key":"k","value":"dg==","version":1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
		// The same bytes as a body behind a valid header reach the JSON
		// decoder and the invariant checks.
		checkDecode(t, withHeader(data))
	})
}

func withHeader(body []byte) []byte {
	header := fmt.Sprintf("%s %d %d %08x\n", fileMagic, fileFormat, len(body), crc32.Checksum(body, castagnoli))
	return append([]byte(header), body...)
}

func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	index, entries, err := decodeFile(data)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decode error %v does not wrap ErrCorrupt", err)
		}
		return
	}
	// Whatever decodes satisfies the store's invariants and survives a round
	// trip unchanged.
	for k, e := range entries {
		if k == "" || e.version == 0 || e.version > index {
			t.Fatalf("decoded key %q version %d with index %d", k, e.version, index)
		}
	}
	again, err := encodeFile(index, entries)
	if err != nil {
		t.Fatal(err)
	}
	index2, entries2, err := decodeFile(again)
	if err != nil || index2 != index || !reflect.DeepEqual(entries2, entries) {
		t.Fatalf("round trip: %d %v %v; want %d %v", index2, entries2, err, index, entries)
	}
}
