package partition

// allAckList holds acks=all produce responses. Each waits for two things:
// the replication core completes it (replication.ProduceDone: the high
// watermark passed its last offset, or an error), and the leader's own
// log is durable through it under the flush policy. Entries are added in
// offset order; the core completes them in offset order too, so the ones
// ready to answer are always a prefix.
//
// Owned by the replica actor; no goroutines, no I/O.
type allAckList[T any] struct {
	nextID uint64
	// Invariant: last offsets are non-decreasing.
	entries []allAck[T]
	// durable counts the entries at the front that durableBelow has
	// passed on. Invariant: 0 <= durable <= len(entries).
	durable int
}

type allAck[T any] struct {
	id    uint64
	last  int64 // offset of the request's last record
	done  bool  // completed by the core without error
	value T
}

// push adds a produce whose records end at last and returns its id (never
// 0), the id the core tracks it under.
func (l *allAckList[T]) push(last int64, value T) uint64 {
	l.nextID++
	l.entries = append(l.entries, allAck[T]{id: l.nextID, last: last, value: value})
	return l.nextID
}

// complete records the core's verdict on id and returns its value (ok
// true). A failed produce is removed, to be answered with the error at
// once; a successful one stays until it is durable (see ready). Unknown
// ids (already answered) return ok false.
func (l *allAckList[T]) complete(id uint64, failed bool) (value T, ok bool) {
	for i := range l.entries {
		if l.entries[i].id != id {
			continue
		}
		value = l.entries[i].value
		if !failed {
			l.entries[i].done = true
			return value, true
		}
		l.entries = append(l.entries[:i], l.entries[i+1:]...)
		if i < l.durable {
			l.durable--
		}
		return value, true
	}
	return value, false
}

// durableBelow calls f, in order, on each entry whose last offset is
// below durable that no earlier call passed on: the produces the log
// has just become durable for, completed by the core or not.
func (l *allAckList[T]) durableBelow(durable int64, f func(T)) {
	for ; l.durable < len(l.entries) && l.entries[l.durable].last < durable; l.durable++ {
		f(l.entries[l.durable].value)
	}
}

// ready removes and returns the completed entries, from the front, whose
// last offset is below durable.
func (l *allAckList[T]) ready(durable int64) []T {
	i := 0
	for ; i < len(l.entries) && l.entries[i].done && l.entries[i].last < durable; i++ {
	}
	return l.take(i)
}

// through removes and returns the entries whose last offset is <= offset
// (their fsync failed), completed or not.
func (l *allAckList[T]) through(offset int64) []T {
	i := 0
	for ; i < len(l.entries) && l.entries[i].last <= offset; i++ {
	}
	return l.take(i)
}

// drain removes and returns every entry.
func (l *allAckList[T]) drain() []T {
	return l.take(len(l.entries))
}

func (l *allAckList[T]) len() int { return len(l.entries) }

func (l *allAckList[T]) take(n int) []T {
	if n == 0 {
		return nil
	}
	out := make([]T, n)
	for i, e := range l.entries[:n] {
		out[i] = e.value
	}
	l.entries = append(l.entries[:0], l.entries[n:]...)
	l.durable = max(l.durable-n, 0)
	return out
}
