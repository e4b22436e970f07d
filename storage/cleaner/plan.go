package cleaner

import (
	"math"
	"time"

	"github.com/sluice-mq/sluice/storage/commitlog"
	"github.com/sluice-mq/sluice/storage/compaction"
)

// Policy is how one log is compacted: its topic's compaction settings.
type Policy struct {
	// MinCleanableRatio is min.cleanable.dirty.ratio: the log is cleaned
	// once dirty bytes / (clean + dirty bytes) reaches it.
	MinCleanableRatio float64
	// MinCompactionLag is min.compaction.lag.ms: a segment whose newest
	// record is younger is not cleaned yet.
	MinCompactionLag time.Duration
	// MaxCompactionLag is max.compaction.lag.ms: a dirty segment whose
	// newest record is older is cleaned whatever the ratio. 0 or negative
	// means no limit.
	MaxCompactionLag time.Duration
	// DeleteRetention is delete.retention.ms: how long a tombstone is kept
	// after the segment holding it was first cleaned.
	DeleteRetention time.Duration
	// SegmentBytes is segment.bytes: cleaned segments are grouped into one
	// replacement while their inputs fit.
	SegmentBytes int64
	// StableEnd, when set, bounds what is cleaned below the high
	// watermark: no segment reaching past the offset it returns (the
	// partition's last stable offset, so the records of undecided
	// transactions stay as written). Called from cleaner threads.
	StableEnd func() int64
	// Aborted, when set, lists the aborted transactions overlapping
	// [from, to) (from the partition's aborted-transaction index): their
	// records are dropped and never supersede committed ones. Called from
	// cleaner threads.
	Aborted func(from, to int64) ([]compaction.AbortedTxn, error)
}

// plan is the part of a log one clean covers.
type plan struct {
	// segments are the closed segments cleaned, oldest first: every
	// segment from the log start up to the first uncleanable one.
	segments []commitlog.SegmentInfo
	// firstDirty is the checkpointed offset below which the log is clean,
	// clamped to the log; end is where the cleanable part stops (the next
	// checkpoint).
	firstDirty, end int64
	cleanBytes      int64
	dirtyBytes      int64
	// overdue is set when a dirty segment is older than MaxCompactionLag.
	overdue bool
}

// ratio is the dirty ratio of the cleanable part.
func (p plan) ratio() float64 {
	if p.dirtyBytes == 0 {
		return 0
	}
	return float64(p.dirtyBytes) / float64(p.cleanBytes+p.dirtyBytes)
}

// makePlan chooses what to clean in a log with segments segs (the last is
// the active one), high watermark hw and cleaner checkpoint firstDirty.
// The cleanable part ends at the first segment that is active, holds
// offsets at or above the high watermark (they may still be truncated) or
// is younger than MinCompactionLag (Kafka's first uncleanable offset).
func makePlan(segs []commitlog.SegmentInfo, hw, firstDirty int64, now time.Time, p Policy) plan {
	pl := plan{firstDirty: firstDirty}
	if len(segs) == 0 {
		return pl
	}
	logStart, leo := segs[0].BaseOffset, segs[len(segs)-1].NextOffset
	if firstDirty < logStart || firstDirty > leo {
		pl.firstDirty = logStart
	}
	lagLimit := int64(math.MaxInt64) // no lag: even future timestamps are cleanable
	if p.MinCompactionLag > 0 {
		lagLimit = now.Add(-p.MinCompactionLag).UnixMilli()
	}
	overdueLimit := int64(math.MinInt64)
	if p.MaxCompactionLag > 0 {
		overdueLimit = now.Add(-p.MaxCompactionLag).UnixMilli()
	}
	pl.end = logStart
	for _, s := range segs {
		if s.Active || s.NextOffset > hw || s.MaxTimestamp > lagLimit {
			// The cleanable part ends at this segment's base, so a gap
			// compaction left at the end of the previous one is covered.
			pl.end = s.BaseOffset
			break
		}
		pl.segments = append(pl.segments, s)
		if s.NextOffset <= pl.firstDirty {
			pl.cleanBytes += s.Size
			continue
		}
		pl.dirtyBytes += s.Size
		if s.MaxTimestamp >= 0 && s.MaxTimestamp < overdueLimit {
			pl.overdue = true
		}
	}
	return pl
}

// cleanable reports whether the plan is worth running now: dirty enough,
// or overdue.
func (p plan) cleanable(pol Policy) bool {
	if p.dirtyBytes == 0 {
		return false
	}
	return p.overdue || p.ratio() >= pol.MinCleanableRatio
}

// groups splits the plan's segments into runs that are replaced by one
// cleaned segment each: consecutive segments whose sizes add up to at
// most maxBytes and whose offsets fit a segment's 32-bit relative index.
// A segment larger than maxBytes is a group of its own.
func groups(segs []commitlog.SegmentInfo, maxBytes int64) [][]commitlog.SegmentInfo {
	var out [][]commitlog.SegmentInfo
	var size int64
	for i, s := range segs {
		if n := len(out); n > 0 && i > 0 {
			g := out[n-1]
			if size+s.Size <= maxBytes && s.NextOffset-g[0].BaseOffset < math.MaxInt32 {
				out[n-1] = append(g, s)
				size += s.Size
				continue
			}
		}
		out = append(out, []commitlog.SegmentInfo{s})
		size = s.Size
	}
	return out
}
