package compaction

import "hash/maphash"

// keyDigest is a 128-bit digest of a record key. Two independent seeded
// hashes make an accidental collision (which would drop a live record)
// negligible even for billions of keys, while keeping the map's memory per
// key fixed whatever the key size.
type keyDigest [2]uint64

// offsetMap maps each key to the offset of its latest record.
type offsetMap struct {
	seeds  [2]maphash.Seed
	latest map[keyDigest]int64
}

func newOffsetMap() *offsetMap {
	return &offsetMap{
		seeds:  [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		latest: make(map[keyDigest]int64),
	}
}

func (m *offsetMap) digest(key []byte) keyDigest {
	return keyDigest{maphash.Bytes(m.seeds[0], key), maphash.Bytes(m.seeds[1], key)}
}

// put records that key's latest record is at offset. Offsets arrive in
// increasing order, so the last put wins.
func (m *offsetMap) put(key []byte, offset int64) { m.latest[m.digest(key)] = offset }

// get returns the offset of key's latest record, if key is mapped.
func (m *offsetMap) get(key []byte) (int64, bool) {
	o, ok := m.latest[m.digest(key)]
	return o, ok
}

func (m *offsetMap) len() int { return len(m.latest) }
