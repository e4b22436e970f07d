package producerstate

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// FuzzDecodeSnapshot feeds arbitrary bytes to the snapshot reader: it
// must never panic, and whatever it accepts must encode back to the same
// bytes (nothing is silently dropped or invented).
func FuzzDecodeSnapshot(f *testing.F) {
	f.Add(EncodeSnapshot(sampleState().Entries()))
	f.Add(EncodeSnapshot(nil))
	f.Add([]byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b)
		if len(b) >= snapshotHeaderSize {
			// The same bytes with a valid CRC reach the entry parser.
			b = bytes.Clone(b)
			binary.BigEndian.PutUint32(b[2:], crc32.Checksum(b[6:], castagnoli))
			checkDecode(t, b)
		}
	})
}

func checkDecode(t *testing.T, b []byte) {
	entries, err := DecodeSnapshot(b)
	if err != nil {
		return
	}
	if again := EncodeSnapshot(entries); !bytes.Equal(again, b) {
		t.Fatalf("accepted %d bytes that re-encode to %d different ones", len(b), len(again))
	}
	FromEntries(Config{}, 0, entries, 0)
}
