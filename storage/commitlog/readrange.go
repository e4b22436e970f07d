package commitlog

import "github.com/sluice-mq/sluice/storage/segment"

// ReadRange is Read without the copy: it selects the same batches (whole
// batches from one segment, at least one, below maxOffset) and returns
// them as a segment.Range, a file range with a descriptor of its own that
// stays readable if retention, compaction or Close remove the segment
// meanwhile (see segment.Range). The caller must Close the Range. It
// returns an empty Range where Read returns no bytes, and the same
// errors.
func (l *Log) ReadRange(offset int64, maxBytes int, maxOffset int64) (segment.Range, error) {
	var out segment.Range
	err := l.readFrom(offset, maxOffset, func(s *segment.Segment) (bool, error) {
		r, err := s.ReadRange(offset, maxBytes, maxOffset)
		if err != nil {
			return false, err
		}
		out = r
		return r.Size > 0, nil
	})
	if err != nil {
		return segment.Range{}, err
	}
	return out, nil
}
