package partition

import "sort"

// fetchWaitList holds long-poll fetches parked until enough bytes are
// committed or their wait expires. A parked fetch needs needBytes more
// committed bytes than were committed when it parked (mark).
//
// Owned by the replica actor; no goroutines, no I/O.
type fetchWaitList[T any] struct {
	nextID  uint64
	waiting map[uint64]parkedFetch[T]
}

type parkedFetch[T any] struct {
	id        uint64
	mark      int64 // progress.committedBytes when parked
	needBytes int64
	value     T
}

// park adds a fetch and returns its id (never 0).
func (w *fetchWaitList[T]) park(mark, needBytes int64, value T) uint64 {
	if w.waiting == nil {
		w.waiting = make(map[uint64]parkedFetch[T])
	}
	w.nextID++
	w.waiting[w.nextID] = parkedFetch[T]{id: w.nextID, mark: mark, needBytes: needBytes, value: value}
	return w.nextID
}

// ready removes and returns, oldest first, the fetches satisfied now that
// committed bytes are committed.
func (w *fetchWaitList[T]) ready(committed int64) []parkedFetch[T] {
	var ids []uint64
	for id, f := range w.waiting {
		if committed-f.mark >= f.needBytes {
			ids = append(ids, id)
		}
	}
	return w.take(ids)
}

// expire removes the fetch with id; ok is false when it was already
// answered.
func (w *fetchWaitList[T]) expire(id uint64) (f parkedFetch[T], ok bool) {
	f, ok = w.waiting[id]
	if ok {
		delete(w.waiting, id)
	}
	return f, ok
}

// drain removes and returns every parked fetch, oldest first.
func (w *fetchWaitList[T]) drain() []parkedFetch[T] {
	ids := make([]uint64, 0, len(w.waiting))
	for id := range w.waiting {
		ids = append(ids, id)
	}
	return w.take(ids)
}

// takeIf removes and returns, oldest first, the fetches whose value
// matches.
func (w *fetchWaitList[T]) takeIf(match func(T) bool) []parkedFetch[T] {
	var ids []uint64
	for id, f := range w.waiting {
		if match(f.value) {
			ids = append(ids, id)
		}
	}
	return w.take(ids)
}

func (w *fetchWaitList[T]) len() int { return len(w.waiting) }

func (w *fetchWaitList[T]) take(ids []uint64) []parkedFetch[T] {
	if len(ids) == 0 {
		return nil
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := make([]parkedFetch[T], len(ids))
	for i, id := range ids {
		out[i] = w.waiting[id]
		delete(w.waiting, id)
	}
	return out
}

// ackQueue holds produce responses waiting for their records to become
// committed (durable under the interval flush policy, replicated to the
// ISR with followers). Entries are appended in offset order.
//
// Owned by the replica actor; no goroutines, no I/O.
type ackQueue[T any] struct {
	// Invariant: last offsets are non-decreasing.
	entries []pendingAck[T]
}

type pendingAck[T any] struct {
	last  int64 // offset of the request's last record
	value T
}

func (q *ackQueue[T]) push(last int64, value T) {
	q.entries = append(q.entries, pendingAck[T]{last: last, value: value})
}

// committed removes and returns the entries whose last offset is below hw.
func (q *ackQueue[T]) committed(hw int64) []T {
	return q.popWhile(func(last int64) bool { return last < hw })
}

// through removes and returns the entries whose last offset is <= offset.
func (q *ackQueue[T]) through(offset int64) []T {
	return q.popWhile(func(last int64) bool { return last <= offset })
}

// drain removes and returns every entry.
func (q *ackQueue[T]) drain() []T { return q.popWhile(func(int64) bool { return true }) }

func (q *ackQueue[T]) len() int { return len(q.entries) }

func (q *ackQueue[T]) popWhile(ok func(last int64) bool) []T {
	i := 0
	for ; i < len(q.entries) && ok(q.entries[i].last); i++ {
	}
	if i == 0 {
		return nil
	}
	out := make([]T, i)
	for j := range out {
		out[j] = q.entries[j].value
	}
	q.entries = append(q.entries[:0], q.entries[i:]...)
	return out
}
