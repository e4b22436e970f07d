package producerstate

import (
	"errors"

	"github.com/sluice-mq/sluice/storage/batch"
	"github.com/sluice-mq/sluice/storage/vfs"
)

// Log is what Load reads: a partition log (storage/commitlog's Log).
type Log interface {
	LogStartOffset() int64
	LogEndOffset() int64
	// ScanBatches calls fn with the header of every batch whose last
	// offset is ≥ from, in order; read returns the whole batch.
	ScanBatches(from int64, fn func(h batch.Header, read func() ([]byte, error)) error) error
}

// LoadStats says how Load rebuilt the state.
type LoadStats struct {
	// Snapshot is the offset of the snapshot loaded, -1 when none was.
	Snapshot int64
	// Corrupt counts damaged snapshots skipped (and deleted).
	Corrupt int
	// Stale counts snapshots deleted because they lie beyond the log end.
	Stale int
	// Batches counts the batch headers replayed from the log.
	Batches int
	// BadMarkers counts control batches replayed whose marker did not
	// parse; they were applied as ending nothing.
	BadMarkers int
	// ReplayFrom is the offset the replay started at: state derived from
	// the log above it (the aborted-transaction index) must be rebuilt
	// from Completed.
	ReplayFrom int64
	// Completed lists the transactions the replayed markers completed,
	// in log order.
	Completed []CompletedTxn
}

// Load rebuilds a partition's producer state from its directory and log:
// the latest valid snapshot between the log start and the log end offset,
// then every batch of the log above it (headers only, plus the record of
// each control batch). Snapshots beyond the log end (the log lost a tail)
// and damaged ones are deleted, and so are temporary files of interrupted
// writes; without a usable snapshot the whole log is replayed. Producers
// expired at nowMs are left out. Only I/O errors fail it.
func Load(fsys vfs.FS, dir string, log Log, cfg Config, nowMs int64) (*State, LoadStats, error) {
	stats := LoadStats{Snapshot: -1}
	start, end := log.LogStartOffset(), log.LogEndOffset()
	stale, err := DeleteSnapshotsAbove(fsys, dir, end)
	stats.Stale = stale
	if err != nil {
		return nil, stats, err
	}
	offsets, err := ListSnapshots(dir)
	if err != nil {
		return nil, stats, err
	}
	var st *State
	for i := len(offsets) - 1; i >= 0 && offsets[i] >= start; i-- {
		entries, err := ReadSnapshot(dir, offsets[i])
		if errors.Is(err, ErrCorruptSnapshot) {
			stats.Corrupt++
			bad := offsets[i]
			if _, err := DeleteSnapshots(fsys, dir, func(o int64) bool { return o == bad }); err != nil {
				return nil, stats, err
			}
			continue
		}
		if err != nil {
			return nil, stats, err
		}
		st, stats.Snapshot = FromEntries(cfg, offsets[i], entries, nowMs), offsets[i]
		break
	}
	if st == nil {
		st = New(cfg, start)
	}
	stats.ReplayFrom = st.End()
	if err := Replay(st, log, st.End()); err != nil {
		return nil, stats, err
	}
	stats.Batches, stats.BadMarkers, stats.Completed = st.replayed, st.badMarkers, st.replayedTxns
	st.replayed, st.badMarkers, st.replayedTxns = 0, 0, nil
	st.end = max(st.end, end)
	return st, stats, nil
}

// Replay applies every batch of log whose last offset is ≥ from to st.
func Replay(st *State, log Log, from int64) error {
	return log.ScanBatches(from, func(h batch.Header, read func() ([]byte, error)) error {
		var m *Marker
		if h.Attributes.Control() && h.ProducerID >= 0 {
			b, err := read()
			if err != nil {
				return err
			}
			if m, err = ParseMarker(b); err != nil {
				// A stored control batch passed the leader's checks; one
				// that does not parse ends nothing, as an empty one.
				m = nil
				st.badMarkers++
			}
		}
		if c := st.Apply(h, m); c != nil {
			st.replayedTxns = append(st.replayedTxns, *c)
		}
		st.replayed++
		return nil
	})
}
