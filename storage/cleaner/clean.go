package cleaner

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sluice-mq/sluice/storage/commitlog"
	"github.com/sluice-mq/sluice/storage/compaction"
	"github.com/sluice-mq/sluice/storage/segment"
)

// errUncleanable marks a log whose segments cannot be compacted (a corrupt
// batch); the cleaner skips it until it is registered again.
var errUncleanable = errors.New("cleaner: uncleanable log")

// minGroupBytes bounds the grouping of small segments when a policy has
// no SegmentBytes.
const minGroupBytes = 1 << 20

// result describes one clean.
type result struct {
	bytesRead, bytesWritten int64
	recordsRead             int
	recordsKept             int
	tombstonesDropped       int
	// end is the new first dirty offset.
	end int64
	// tombstonesDue is when the tombstones kept may be dropped by another
	// clean (zero when none were kept).
	tombstonesDue time.Time
}

// clean compacts the plan's segments of e's log: one offset map over all
// of them, one cleaned segment per group of consecutive segments, each
// swapped in with commitlog.ReplaceSegments (crash safe). The mtime of a
// cleaned segment's .log file records when its oldest content was first
// cleaned; a tombstone goes once that is DeleteRetention ago.
func (c *Cleaner) clean(e *entry, pl plan, now time.Time) (res result, err error) {
	l := e.log
	retention := e.policy.DeleteRetention
	segs := pl.segments
	cleanedAt := make([]time.Time, len(segs)) // zero: dirty, never cleaned
	inputs := make([]compaction.Input, len(segs))
	for i, s := range segs {
		if s.NextOffset <= pl.firstDirty {
			st, err := os.Stat(s.Path)
			if err != nil {
				return res, fmt.Errorf("cleaner: %w", err)
			}
			cleanedAt[i] = st.ModTime()
		}
		inputs[i] = c.input(s.Path, e.cancel)
	}
	groupBytes := e.policy.SegmentBytes
	if groupBytes <= 0 {
		groupBytes = minGroupBytes
	}
	// The groups and their cleaned segments are made once the offset map
	// says how many segments this clean covers.
	var gs [][]commitlog.SegmentInfo
	var groupOf []int
	var outs []*segment.Segment
	defer func() {
		for _, o := range outs {
			if o != nil {
				err = errors.Join(err, o.Delete())
			}
		}
	}()
	prepare := func(n int) error {
		gs = groups(segs[:n], groupBytes)
		outs = make([]*segment.Segment, len(gs))
		for g, run := range gs {
			for range run {
				groupOf = append(groupOf, g)
			}
			var err error
			if outs[g], err = l.CreateCleanedSegment(run[0].BaseOffset); err != nil {
				return fmt.Errorf("cleaner: %w", err)
			}
		}
		return nil
	}
	out := compaction.WriterFunc(func(i int, b []byte) error {
		if err := c.throttle.wait(len(b), e.cancel); err != nil {
			return err
		}
		return outs[groupOf[i]].Append(b)
	})
	mapFrom := len(segs)
	for i, s := range segs {
		if s.NextOffset > pl.firstDirty {
			mapFrom = i
			break
		}
	}
	var aborted []compaction.AbortedTxn
	if e.policy.Aborted != nil && len(segs) > 0 {
		if aborted, err = e.policy.Aborted(segs[0].BaseOffset, segs[len(segs)-1].NextOffset); err != nil {
			return res, fmt.Errorf("cleaner: aborted transactions: %w", err)
		}
	}
	stats, err := compaction.Compact(inputs, out, compaction.Options{
		MapFrom:       mapFrom,
		MaxKeys:       c.maxKeys,
		BeforeRewrite: prepare,
		DropTombstones: func(i int) bool {
			return !cleanedAt[i].IsZero() && !now.Before(cleanedAt[i].Add(retention))
		},
		Aborted: aborted,
		// The plan starts at the log start: markers with nothing left of
		// their transaction go after delete.retention.ms, as tombstones.
		DropMarkers: func(i int) bool {
			return !cleanedAt[i].IsZero() && !now.Before(cleanedAt[i].Add(retention))
		},
	})
	if errors.Is(err, compaction.ErrCorruptInput) {
		return res, fmt.Errorf("%w: %w", errUncleanable, err)
	}
	if err != nil {
		return res, err
	}
	res = result{
		bytesRead:         stats.BytesRead,
		bytesWritten:      stats.BytesWritten,
		recordsRead:       stats.RecordsRead,
		recordsKept:       stats.RecordsKept,
		tombstonesDropped: stats.TombstonesDropped,
	}
	res.end = pl.end
	if stats.InputsCleaned < len(segs) {
		// The offset map filled: the rest waits for the next clean.
		res.end = segs[stats.InputsCleaned].BaseOffset
	}
	first := 0
	for g, run := range gs {
		select {
		case <-e.cancel:
			return res, errCancelled
		default:
		}
		at := now
		if all := cleanedAt[first : first+len(run)]; !hasZero(all) {
			at = latest(all) // already clean: keep its tombstones' clock
		}
		first += len(run)
		bases := make([]int64, len(run))
		for i, s := range run {
			bases[i] = s.BaseOffset
		}
		if c.swapHook != nil {
			c.swapHook(g)
		}
		cleaned := outs[g]
		outs[g] = nil // ReplaceSegments owns it now
		if err := l.ReplaceSegments(bases, cleaned); err != nil {
			return res, fmt.Errorf("cleaner: %w", err)
		}
		if err := os.Chtimes(run[0].Path, at, at); err != nil {
			return res, fmt.Errorf("cleaner: record clean time: %w", err)
		}
		if stats.TombstonesKept > 0 {
			if due := at.Add(retention); res.tombstonesDue.IsZero() || due.Before(res.tombstonesDue) {
				res.tombstonesDue = due
			}
		}
	}
	if c.swapHook != nil {
		c.swapHook(len(gs))
	}
	return res, nil
}

// input opens a segment's .log file for Compact, reading through the
// throttle.
func (c *Cleaner) input(path string, cancel <-chan struct{}) compaction.Input {
	return compaction.Input{Name: path, Open: func() (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		return &throttledReader{r: f, t: c.throttle, cancel: cancel}, nil
	}}
}

func hasZero(ts []time.Time) bool {
	for _, t := range ts {
		if t.IsZero() {
			return true
		}
	}
	return false
}

func latest(ts []time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}
