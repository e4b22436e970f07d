// Package checkpoint reads and atomically replaces small files that record
// a handful of named int64 values: a log's high watermark, recovery point
// and log start offset, the leader-epoch cache, committed group offsets.
//
// # Usage
//
//	err := checkpoint.WriteOffsets(filepath.Join(dir, "offsets.checkpoint"),
//		map[string]int64{"high_watermark": hw, "recovery_point": rp})
//	...
//	offsets, err := checkpoint.ReadOffsets(path)
//	if errors.Is(err, checkpoint.ErrNotExist) {
//		// first start: nothing was checkpointed yet
//	}
//
// Write and Read handle an ordered list of entries (keys may repeat; the
// order is preserved), WriteOffsets and ReadOffsets a map with unique keys.
//
// # Atomic replacement
//
// Write never modifies the file in place. It creates a temporary file in
// the same directory named "<base>.<random>.tmp", writes and fsyncs it,
// renames it over the target and fsyncs the directory. After a crash the
// target holds either the old or the new content, never a mix; a leftover
// temporary file is never read and CleanTemp removes it.
//
// # On-disk format
//
// All integers are big-endian.
//
//	magic   [4]byte  "SLCK"
//	version u16      1
//	count   u32      number of entries
//	count × entry:
//	    keyLen u16
//	    key    [keyLen]byte (UTF-8 by convention, not checked)
//	    value  i64
//	crc     u32      CRC-32C (Castagnoli) of every byte before it
//
// The entries must fill the space between the header and the CRC exactly.
// A file with a wrong magic, an unknown version, a bad CRC, a count that
// does not match the bytes present, or any trailing byte is rejected with
// ErrCorruptCheckpoint; Read never returns a partial result. An empty
// file (0 bytes) is corrupt too: Write never produces one.
package checkpoint
