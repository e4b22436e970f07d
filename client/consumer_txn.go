package client

import (
	"errors"
	"fmt"
	"slices"

	"github.com/sluice-mq/sluice/messages"
	"github.com/sluice-mq/sluice/storage/batch"
)

// IsolationLevel says which records of transactional producers a consumer
// returns (Kafka's isolation.level).
type IsolationLevel int8

const (
	// ReadUncommitted returns every record below the high watermark,
	// including those of open and aborted transactions.
	ReadUncommitted IsolationLevel = 0
	// ReadCommitted returns records only up to the last stable offset
	// (below every open transaction) and drops the records of aborted
	// transactions.
	ReadCommitted IsolationLevel = 1
)

func (l IsolationLevel) String() string {
	switch l {
	case ReadUncommitted:
		return "read_uncommitted"
	case ReadCommitted:
		return "read_committed"
	}
	return fmt.Sprintf("IsolationLevel(%d)", int8(l))
}

// ParseIsolationLevel reads "read_uncommitted" or "read_committed".
func ParseIsolationLevel(s string) (IsolationLevel, error) {
	switch s {
	case "read_uncommitted", "":
		return ReadUncommitted, nil
	case "read_committed":
		return ReadCommitted, nil
	}
	return 0, fmt.Errorf("client: unknown isolation level %q (want read_uncommitted or read_committed)", s)
}

func (l IsolationLevel) valid() bool { return l == ReadUncommitted || l == ReadCommitted }

// forEachVisible calls fn for each record of data a consumer returns.
// Control batches (transaction markers) are never returned. aborted, the
// aborted transactions a read_committed fetch reports, drops the batches
// of each aborted transaction: those of its producer from its first
// offset up to the producer's ABORT marker (Kafka's consumer rule).
func forEachVisible(data []byte, aborted []*messages.AbortedTransaction, fn func(batch.Record) error) error {
	pending := slices.Clone(aborted)
	slices.SortFunc(pending, func(a, b *messages.AbortedTransaction) int {
		switch {
		case a.GetFirstOffset() < b.GetFirstOffset():
			return -1
		case a.GetFirstOffset() > b.GetFirstOffset():
			return 1
		}
		return 0
	})
	abortedProducers := map[int64]bool{}
	for len(data) > 0 {
		h, b, rest, err := batch.Next(data)
		if errors.Is(err, batch.ErrShortBatch) {
			return nil
		}
		if err != nil {
			return err
		}
		data = rest
		for len(pending) > 0 && pending[0].GetFirstOffset() <= h.LastOffset() {
			abortedProducers[pending[0].GetProducerId()] = true
			pending = pending[1:]
		}
		if h.Attributes.Control() {
			if abortedProducers[h.ProducerID] {
				isAbort := false
				if err := batch.ForEach(b, func(r batch.Record) error {
					t, _, err := batch.ParseControl(r)
					isAbort = err == nil && t == batch.ControlAbort
					return nil
				}); err != nil {
					return err
				}
				if isAbort {
					delete(abortedProducers, h.ProducerID)
				}
			}
			continue
		}
		if h.Attributes.Transactional() && abortedProducers[h.ProducerID] {
			continue
		}
		if err := batch.ForEach(b, fn); err != nil {
			return err
		}
	}
	return nil
}
