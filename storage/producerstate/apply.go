package producerstate

import (
	"errors"
	"fmt"

	"github.com/sluice-mq/sluice/storage/batch"
)

// errStop ends a record walk after the first record.
var errStop = errors.New("producerstate: stop")

// ParseMarker reads the marker of control batch b (one whole batch). It
// returns nil without error for a control batch with no records left
// (compaction removed them).
func ParseMarker(b []byte) (*Marker, error) {
	var m *Marker
	err := batch.ForEach(b, func(r batch.Record) error {
		t, coord, err := batch.ParseControl(r)
		if err != nil {
			return err
		}
		m = &Marker{Type: t, CoordinatorEpoch: coord, Timestamp: r.Timestamp}
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, fmt.Errorf("producerstate: marker: %w", err)
	}
	return m, nil
}

// ApplyBatches applies every batch of records (concatenated appended
// batches, offsets assigned) and returns the transactions their markers
// completed. A control batch whose marker cannot be read is applied as
// one without a marker and reported in the error, after the rest.
func (s *State) ApplyBatches(records []byte) ([]CompletedTxn, error) {
	var done []CompletedTxn
	var errs []error
	for rest := records; len(rest) >= batch.HeaderSize; {
		h, err := batch.ParseHeader(rest)
		if err == nil && h.Size() > len(rest) {
			err = batch.ErrShortBatch
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("producerstate: batch header: %w", err))
			break
		}
		var m *Marker
		if h.Attributes.Control() && h.ProducerID >= 0 {
			if m, err = ParseMarker(rest[:h.Size()]); err != nil {
				errs = append(errs, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, err))
			}
		}
		if c := s.Apply(h, m); c != nil {
			done = append(done, *c)
		}
		rest = rest[h.Size():]
	}
	return done, errors.Join(errs...)
}
