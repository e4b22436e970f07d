// Package commitlog is one partition's log: ordered segments (package
// segment), offset assignment, rolling, retention, truncation, crash
// recovery, flushing and the leader-epoch cache.
//
// # Usage
//
//	l, err := commitlog.Open(dir, commitlog.Config{SegmentBytes: 256 << 20})
//	info, err := l.Append(batches, leaderEpoch)     // leader: assigns offsets
//	info, err = l.AppendReplicated(batches)         // follower: offsets kept
//	l.SetHighWatermark(hw)
//	b, err := l.Read(offset, 1<<20, l.HighWatermark()) // whole batches
//	err = l.TruncateTo(divergence)                  // follower truncation
//	n, err := l.EnforceRetention(time.Now())        // from a timer
//	rolled, err := l.MaybeRoll(time.Now())          // from a timer
//	err = l.Close()
//
// Batches are Kafka v2 record batches (package batch) and are stored as
// received: the leader path patches baseOffset and partitionLeaderEpoch in
// place, neither of which the CRC covers. A Log is safe for concurrent
// use; reads run in parallel with each other and, like appends, proceed
// while an fsync runs. Read allocates the slice it returns; ReadAppend
// fills a caller's buffer and is several times faster for large reads.
// Only the active segment keeps its index entries in memory; closed
// segments are searched on disk (see package segment).
//
// # Durability
//
// Config.FlushPolicy picks when data is fsynced. FlushNever (the default)
// leaves it to Flush, Close and the operating system; rolled segments are
// fsynced by the next Flush. FlushAlways fsyncs before Append returns,
// overlapping appends sharing one fsync; with WithSyncHandoff the
// Flusher runs that fsync instead, at once and without a window, and
// AwaitDurable reports it (the replica actor's mode). FlushInterval queues
// the log on a Flusher, one per node (WithFlusher), which fsyncs every
// queued log in rounds, at most one per window of Config.FlushInterval
// (an append on an idle node is fsynced at once); AwaitDurable(offset,
// done) is told when an offset is durable. The recovery point is the
// offset below which everything is fsynced; it advances with every
// fsync. Every log opened with a Flusher is checkpointed by it every
// checkpoint interval (WithCheckpointInterval, 60 s by default) when its
// recovery point, high watermark or log start moved, so that after a crash
// Open verifies only the bytes written after the last checkpoint
// (OpenStats.BytesScanned). After a failed write, fsync, rename or delete
// the log refuses writes with a *FailedError (matching ErrLogFailed and
// wrapping the cause, so a full disk is errors.Is(err, syscall.ENOSPC))
// until reopened, which recovers it from its files; a failed log leaves no
// clean-shutdown marker. A partial append is cut back by the segment, and
// if that cut fails too, recovery cuts the torn batch. WithFailureHandler
// tells the owner of the first failure; WithFS puts the files on an
// injectable file layer (storage/vfs) for tests.
//
// # Files in a log directory
//
// The directory of partition p of topic t is conventionally named
// "<t>-<p>" inside the data directory (the caller chooses it). It holds:
//
//	00000000000000000000.log        segment files (see package segment),
//	00000000000000000000.index      named by the segment's base offset
//	00000000000000000000.timeindex
//	offsets.checkpoint              high_watermark, recovery_point,
//	                                log_start_offset (package checkpoint)
//	leader-epoch.checkpoint         leader-epoch cache (package epochcache)
//	.clean-shutdown                 empty; present only after a clean Close
//
// offsets.checkpoint is written by Flush and Close, and by
// DeleteRecordsBefore, TruncateFullyAndStartAt and a TruncateTo that lowers
// the high watermark or log start; a stale one only makes recovery scan
// more. leader-epoch.checkpoint is written whenever the
// cache changes. Both are replaced atomically (temporary file, fsync,
// rename, directory fsync).
//
// # Recovery
//
// Open removes the clean-shutdown marker before anything else. If it was
// present, and offsets.checkpoint is readable, segments are opened
// trusting their indexes (each checked for consistency with the end of
// its log; a failed check rebuilds that segment's indexes) and nothing is
// scanned (OpenStats.Clean). Otherwise every segment from the one holding
// the recovery point on is read in full and verified (segment.Recover):
// the first torn or corrupt batch ends the log, and later segments are
// deleted. The leader-epoch cache is then cut back to the scanned range
// and rebuilt from the batch headers found, and everything kept is
// fsynced so the recovery point becomes the log end offset.
//
// # Compaction
//
// Segments lists every segment with its base and next offset, path, size
// and max timestamp; closed segments never change, so a compactor can read
// them while the log keeps appending. To replace a run of closed segments
// it calls CreateCleanedSegment(firstBase), appends the batches it keeps
// (offsets unchanged) and calls ReplaceSegments(oldBases, cleaned). With
// package compaction, per closed segment s:
//
//	c, err := l.CreateCleanedSegment(s.BaseOffset)
//	out := compaction.WriterFunc(func(_ int, b []byte) error { return c.Append(b) })
//	_, err = compaction.Compact([]compaction.Input{compaction.FileInput(s.Path)}, out, opts)
//	err = l.ReplaceSegments([]int64{s.BaseOffset}, c)
//
// (Compact takes all closed segments at once to share one offset map, one
// cleaned segment per input.) The node's log cleaner (package
// storage/cleaner) runs this workflow in the background. ReplaceSegments follows Kafka's swap
// protocol:
//
//  1. the cleaned segment ("<base>.log.cleaned", ".index.cleaned",
//     ".timeindex.cleaned") is fsynced and renamed to ".swap", and the
//     directory is fsynced;
//  2. under the log's lock the old segments' files are deleted (the first
//     one's are left to be replaced), the ".swap" files are renamed to
//     their final names, .log last, and the directory is fsynced.
//
// On Open, ".cleaned" files are deleted; a "<base>.log.swap" means step 2
// was under way, so the segments whose base offsets lie inside the
// replacement's offset range are deleted and the renames are completed;
// other ".swap" files are leftovers and are deleted. A crash therefore
// leaves either the old segments or the replacement, never neither; the
// one exception is an old segment lying entirely past the replacement's
// last offset (compaction dropped all of it), which may survive a crash
// with its records still readable. Reads of an offset that compaction
// removed return the next batch kept.
package commitlog
