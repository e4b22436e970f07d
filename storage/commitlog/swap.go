package commitlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-mq/sluice/storage/checkpoint"
	"github.com/sluice-mq/sluice/storage/segment"
	"github.com/sluice-mq/sluice/storage/vfs"
)

// Suffixes of the files of a segment staged to replace others.
const (
	// CleanedSuffix marks a segment a compactor is still writing; Open
	// deletes such files.
	CleanedSuffix = ".cleaned"
	// SwapSuffix marks a complete replacement segment; Open finishes the
	// swap it belongs to.
	SwapSuffix = ".swap"
)

// ErrSwap means ReplaceSegments was given segments that do not match the
// log (not a run of closed segments, or a replacement that does not fit).
var ErrSwap = errors.New("commitlog: invalid segment replacement")

// CreateCleanedSegment creates an empty segment in the log directory whose
// files carry CleanedSuffix. A compactor appends the batches it keeps to it
// (Segment.Append, offsets unchanged) and hands it to ReplaceSegments, or
// deletes it (Segment.Delete) to give up. Open deletes leftovers.
func (l *Log) CreateCleanedSegment(baseOffset int64) (*segment.Segment, error) {
	opts := l.segOptions()
	opts.NameSuffix = CleanedSuffix
	for _, suffix := range []string{segment.LogSuffix, segment.IndexSuffix, segment.TimeIndexSuffix} {
		p := filepath.Join(l.dir, segment.FileName(baseOffset, suffix)+CleanedSuffix)
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("commitlog: remove stale %s: %w", p, err)
		}
	}
	return segment.Create(l.dir, baseOffset, opts)
}

// ReplaceSegments swaps the closed segments with base offsets oldBases (a
// run of consecutive segments, oldest first, not including the active
// one) for cleaned, a segment from CreateCleanedSegment with the base
// offset oldBases[0] whose batches lie below the start of the segment
// after the run. Kafka's protocol makes it crash safe: cleaned is fsynced
// and renamed to SwapSuffix, the old segments' files are deleted, the swap
// files are renamed to their final names (replacing the first old
// segment's) and the directory is fsynced; Open completes a swap found
// half done. ReplaceSegments takes ownership of cleaned.
func (l *Log) ReplaceSegments(oldBases []int64, cleaned *segment.Segment) error {
	if err := l.checkSwap(oldBases, cleaned); err != nil {
		return errors.Join(err, cleaned.Delete())
	}
	// Stage: make the replacement durable under its swap name.
	if err := errors.Join(cleaned.Sync(), cleaned.Close()); err != nil {
		return errors.Join(err, cleaned.Delete())
	}
	for _, p := range cleaned.Files() {
		if err := vfs.Default(l.opts.fs).Rename(p, strings.TrimSuffix(p, CleanedSuffix)+SwapSuffix); err != nil {
			return l.fail("swap", fmt.Errorf("stage swap: %w", err))
		}
	}
	if err := l.syncDir(); err != nil {
		return l.fail("swap", fmt.Errorf("stage swap: %w", err))
	}

	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writableLocked(); err != nil {
		return errors.Join(err, removeSwapFiles(l.dir, cleaned.BaseOffset()))
	}
	i, err := l.swapRunLocked(oldBases, cleaned.BaseOffset(), cleaned.NextOffset())
	if err != nil {
		// Retention or truncation changed the log meanwhile: drop the swap.
		return errors.Join(err, removeSwapFiles(l.dir, cleaned.BaseOffset()))
	}
	s, err := l.completeSwapLocked(cleaned.BaseOffset(), l.segments[i:i+len(oldBases)])
	if err != nil {
		return l.failLocked("swap", err)
	}
	l.segments = append(append(append([]*segment.Segment(nil), l.segments[:i]...), s), l.segments[i+len(oldBases):]...)
	return nil
}

// checkSwap validates a replacement before anything is renamed.
func (l *Log) checkSwap(oldBases []int64, cleaned *segment.Segment) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	_, err := l.swapRunLocked(oldBases, cleaned.BaseOffset(), cleaned.NextOffset())
	return err
}

// swapRunLocked returns the index of the first old segment after checking
// that oldBases is a run of closed segments the replacement fits.
func (l *Log) swapRunLocked(oldBases []int64, base, next int64) (int, error) {
	if len(oldBases) == 0 || base != oldBases[0] {
		return 0, fmt.Errorf("%w: replacement base %d for segments %v", ErrSwap, base, oldBases)
	}
	i := l.segmentIndexLocked(base)
	if l.segments[i].BaseOffset() != base || i+len(oldBases) >= len(l.segments) {
		return 0, fmt.Errorf("%w: segments %v are not a run of closed segments", ErrSwap, oldBases)
	}
	for j, b := range oldBases {
		if l.segments[i+j].BaseOffset() != b {
			return 0, fmt.Errorf("%w: segments %v are not a run of closed segments", ErrSwap, oldBases)
		}
	}
	if after := l.segments[i+len(oldBases)].BaseOffset(); next > after {
		return 0, fmt.Errorf("%w: replacement ends at %d, past the next segment at %d", ErrSwap, next, after)
	}
	return i, nil
}

// completeSwapLocked deletes the old segments, renames the swap files of
// the segment at base to their final names and opens it.
func (l *Log) completeSwapLocked(base int64, old []*segment.Segment) (*segment.Segment, error) {
	for _, s := range old {
		if s.BaseOffset() == base {
			// Its files are replaced by the renames below.
			if err := s.Close(); err != nil {
				return nil, err
			}
			continue
		}
		if err := s.Delete(); err != nil {
			return nil, err
		}
	}
	if err := finishSwapFiles(l.opts.fs, l.dir, base); err != nil {
		return nil, err
	}
	opts := l.segOptions()
	opts.LazyIndex = true
	s, err := segment.Open(l.dir, base, opts)
	if errors.Is(err, segment.ErrCorruptIndex) {
		if _, err = s.Recover(int64(l.cfg.MaxBatchBytes), nil); err == nil {
			err = s.ReleaseIndex()
		}
	}
	return s, err
}

// finishSwapFiles renames the swap files of the segment at base to their
// final names and fsyncs the directory.
func finishSwapFiles(fsys vfs.FS, dir string, base int64) error {
	fsys = vfs.Default(fsys)
	for _, suffix := range []string{segment.TimeIndexSuffix, segment.IndexSuffix, segment.LogSuffix} {
		final := filepath.Join(dir, segment.FileName(base, suffix))
		if err := fsys.Rename(final+SwapSuffix, final); err != nil {
			return fmt.Errorf("commitlog: finish swap: %w", err)
		}
	}
	return checkpoint.SyncDir(fsys, dir)
}

func removeSwapFiles(dir string, base int64) error {
	var errs []error
	for _, suffix := range []string{segment.LogSuffix, segment.IndexSuffix, segment.TimeIndexSuffix} {
		p := filepath.Join(dir, segment.FileName(base, suffix)+SwapSuffix)
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// recoverSwaps runs before segments are listed on Open: it deletes
// ".cleaned" files and completes every swap whose ".log.swap" exists
// (deleting the segments the replacement covers), or drops swap files
// without a log.
func recoverSwaps(dir string, entries []os.DirEntry, opts segment.Options) (changed bool, err error) {
	var swaps []int64
	for _, e := range entries {
		name := e.Name()
		switch {
		case strings.HasSuffix(name, CleanedSuffix):
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return changed, fmt.Errorf("commitlog: remove %s: %w", name, err)
			}
			changed = true
		case strings.HasSuffix(name, segment.LogSuffix+SwapSuffix):
			if base, suffix, ok := parseSegmentName(strings.TrimSuffix(name, SwapSuffix)); ok && suffix == segment.LogSuffix {
				swaps = append(swaps, base)
			}
		case strings.HasSuffix(name, SwapSuffix):
			// Index swap files of a complete swap are handled with its
			// log; orphans go below.
		}
	}
	for _, base := range swaps {
		swapOpts := opts
		swapOpts.NameSuffix = SwapSuffix
		swapOpts.LazyIndex = true
		s, err := segment.Open(dir, base, swapOpts)
		if errors.Is(err, segment.ErrCorruptIndex) {
			_, err = s.Recover(0, nil)
		}
		if err != nil {
			return changed, fmt.Errorf("commitlog: swap %020d: %w", base, err)
		}
		next := s.NextOffset()
		if err := s.Close(); err != nil {
			return changed, err
		}
		for _, e := range entries {
			b, _, ok := parseSegmentName(e.Name())
			if ok && b > base && b < next {
				if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
					return changed, fmt.Errorf("commitlog: swap %020d: remove %s: %w", base, e.Name(), err)
				}
			}
		}
		if err := finishSwapFiles(opts.FS, dir, base); err != nil {
			return changed, err
		}
		changed = true
	}
	// Swap files left without their log (a swap finished up to the log's
	// rename only renames the log last, so these are index leftovers).
	rest, err := os.ReadDir(dir)
	if err != nil {
		return changed, err
	}
	for _, e := range rest {
		if strings.HasSuffix(e.Name(), SwapSuffix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return changed, err
			}
			changed = true
		}
	}
	return changed, nil
}
