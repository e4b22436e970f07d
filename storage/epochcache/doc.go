// Package epochcache is the leader-epoch cache of a partition replica
// (Kafka KIP-101 and KIP-279): the ordered list of leader epochs the log has
// seen, each with the offset of its first record. A follower uses it after a
// leader change to find where its log diverges from the leader's and
// truncate there, instead of trusting its high watermark.
//
// # Usage
//
//	c, err := epochcache.Load(path)
//	if errors.Is(err, checkpoint.ErrNotExist) {
//		c = epochcache.New() // new replica, or rebuild while recovering the log
//	}
//	c.Assign(batchLeaderEpoch, batchBaseOffset) // on every appended batch
//	epoch, end := c.EndOffsetFor(followerEpoch, logEndOffset) // leader side
//	c.TruncateFromEnd(newLogEndOffset)   // log truncated to a divergence point
//	c.TruncateFromStart(newLogStartOffset) // retention advanced the log start
//	err = c.Save(path)
//
// A Cache is a plain value with no locking: its owner (the partition
// replica) serialises access.
//
// # On-disk format
//
// Save writes a checkpoint file (see package checkpoint, which provides the
// atomic replacement and the CRC) with one entry per epoch, oldest first:
// the key is the epoch in decimal ("0", "1", ...), the value the epoch's
// start offset. Load rejects a file whose keys are not decimal int32
// epochs, whose epochs are not strictly increasing or whose start offsets
// are negative or not strictly increasing, with an error wrapping
// checkpoint.ErrCorruptCheckpoint.
package epochcache
