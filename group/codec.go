package group

import (
	"fmt"

	"github.com/sluice-mq/sluice/internal/kbin"
)

// newReader decodes a record's fields, reporting errors with this
// package's sentinels.
func newReader(b []byte) *kbin.Reader { return kbin.NewReader(b, ErrTruncated, ErrInvalidRecord) }

// done returns r's first error, or ErrTrailingBytes if input is left over.
func done(r *kbin.Reader) error {
	if r.Err() == nil && r.Remaining() > 0 {
		return fmt.Errorf("%w: %d bytes", ErrTrailingBytes, r.Remaining())
	}
	return r.Err()
}
