// Package cleaner is the node's log cleaner: it compacts the logs of
// compacted topics (cleanup.policy=compact or compact,delete) in the
// background, so a keyed topic such as __consumer_offsets keeps about one
// record per key instead of growing forever.
//
// # Usage
//
//	c, err := cleaner.New(cleaner.Config{Dir: dataDir, Threads: 1})
//	c.Start()
//	c.Register("orders-0", log, cleaner.Policy{MinCleanableRatio: 0.5, ...})
//	...
//	c.Unregister("orders-0", false) // before the log is closed
//	c.Close()
//
// A replica registers its log when it opens it and unregisters it before
// closing or deleting it. Register and Stats never wait; Unregister waits
// only for a clean of that log to notice its cancellation (one read or
// write of a batch, or a swap already under way).
//
// # Choosing a log
//
// Each log has a first dirty offset, taken from the checkpoint: below it
// the log was cleaned. The cleanable part of a log runs from its start to
// the first segment that is active, holds offsets at or above the high
// watermark, or whose newest record is younger than MinCompactionLag. Its
// dirty ratio is the bytes of the cleanable segments at or above the first
// dirty offset over the bytes of all cleanable segments. A thread picks
// the log with the highest ratio among those whose ratio reaches
// MinCleanableRatio (a log with a dirty segment older than
// MaxCompactionLag comes first), or else one whose kept tombstones are due;
// idle threads look again after Config.Backoff.
//
// # Cleaning
//
// All cleanable segments go through package compaction; the offset map
// (the latest offset of each key) is built from the dirty ones only, the
// clean ones being deduplicated already, and is bounded by
// Config.DedupeBufferBytes: when it fills, the segments up to the one that
// filled it are cleaned and the checkpoint stops there, so the next clean
// goes on from it. The result keeps the newest record of every key, keeps offsets (compacted segments have gaps), control
// batches, and the last record of each producer's last batch. Consecutive
// segments are grouped while their sizes add up to at most SegmentBytes,
// and each group becomes one cleaned segment, swapped in by
// commitlog.ReplaceSegments, which is crash safe (Kafka's .cleaned / .swap
// procedure; see package commitlog). Reads and appends go on meanwhile:
// closed segments never change, and the swap happens under the log's lock.
// The active segment is never touched. Every read and write goes through
// a shared throttle (Config.IOBytesPerSecond).
//
// A tombstone (null value) is kept for DeleteRetention after the segment
// holding it was first cleaned. That time is the modification time of the
// cleaned segment's .log file, which the cleaner sets when it swaps the
// segment in: to the cleaner's clock for a group holding newly cleaned
// segments, to the latest time of its inputs for a group that was clean
// already. A clean drops a tombstone only from a segment that is below the
// first dirty offset and whose time is DeleteRetention old.
//
// A segment holding a corrupt batch makes the log uncleanable: the clean
// fails, the error is logged, and the log is skipped (Stats.Uncleanable)
// until it is registered again (the replica reopened, which recovers the
// log). Other failures are retried after the backoff.
//
// # Checkpoint file
//
// CheckpointFile ("cleaner-offset-checkpoint") in the data directory
// records each log's first dirty offset, keyed by the name the log was
// registered under, in package checkpoint's format (replaced atomically:
// temporary file, fsync, rename, directory fsync). It is written after
// every clean. A missing file means nothing was cleaned; a corrupt one is
// logged and ignored; an offset outside the log (the log was truncated or
// recreated) is read as the log start. Either way the only cost is a clean
// that rereads more.
package cleaner
