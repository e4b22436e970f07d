package partition

// progress is the high-watermark bookkeeping of a leader replica: which
// appended offsets are committed (below the high watermark) and how many
// bytes that is, so long-poll fetches can be woken by byte count without
// reading the log.
//
// On a single node with replication factor 1 the high watermark follows
// durability: it advances to the end of an append as soon as the flush
// policy considers it written. With followers it will advance to the
// smallest log end offset of the in-sync replicas; the byte accounting is
// the same.
//
// Owned by the replica actor; no goroutines, no I/O.
type progress struct {
	// hw is the high watermark: the first offset not yet committed.
	hw int64
	// appendedBytes counts every byte appended since the log was opened;
	// committedBytes the part of it below hw.
	// Invariant: committedBytes <= appendedBytes.
	appendedBytes  int64
	committedBytes int64
	// marks records, for each append not yet committed, the offset that
	// follows it and appendedBytes after it.
	// Invariant: end offsets strictly increase and all are > hw.
	marks []appendMark
}

type appendMark struct {
	end   int64 // offset after the append's last record
	bytes int64 // appendedBytes including this append
}

// newProgress starts the bookkeeping at high watermark hw.
func newProgress(hw int64) progress { return progress{hw: hw} }

// appended records an append of n bytes whose last record is end-1.
func (p *progress) appended(end int64, n int) {
	p.appendedBytes += int64(n)
	if end <= p.hw {
		p.committedBytes = p.appendedBytes
		return
	}
	if k := len(p.marks); k > 0 && p.marks[k-1].end >= end {
		// Offsets never go back on a leader; keep the invariant anyway.
		p.marks[k-1].bytes = p.appendedBytes
		return
	}
	p.marks = append(p.marks, appendMark{end: end, bytes: p.appendedBytes})
}

// advance moves the high watermark to hw if that is ahead of it and
// reports whether it moved. Appends that end at or below hw become
// committed; an append that straddles hw stays pending (its bytes are not
// readable yet).
func (p *progress) advance(hw int64) bool {
	if hw <= p.hw {
		return false
	}
	p.hw = hw
	i := 0
	for ; i < len(p.marks) && p.marks[i].end <= hw; i++ {
		p.committedBytes = p.marks[i].bytes
	}
	p.marks = append(p.marks[:0], p.marks[i:]...)
	return true
}

// reset forgets pending appends and restarts at hw, after a truncation or
// a reopen of the log.
func (p *progress) reset(hw int64) {
	p.hw = hw
	p.marks = p.marks[:0]
	p.committedBytes = p.appendedBytes
}
