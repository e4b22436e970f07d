package producerid

// Allocator hands out the ids of the blocks a node claimed. It is pure
// state, not safe for concurrent use: its owner (an actor) asks it for
// ids, starts a Claim when Prefetch says so, and reports the outcome with
// Claimed or ClaimFailed.
//
// A claim starts when the current block is used up or has less than a
// tenth left and no spare is held yet, so a busy node usually has its next
// block before it needs it.
type Allocator struct {
	size     int64
	cur      Block
	next     int64 // next id of cur; cur is used up when next == cur.End()
	spare    Block
	hasSpare bool
	claiming bool
}

// NewAllocator returns an allocator with no block, for blocks of size ids
// (DefaultBlockSize when size < 1).
func NewAllocator(size int64) *Allocator {
	if size < 1 {
		size = DefaultBlockSize
	}
	return &Allocator{size: size}
}

// BlockSize is the size to claim blocks with.
func (a *Allocator) BlockSize() int64 { return a.size }

// Next returns a fresh id, or false when none is held (a claim is needed
// or running).
func (a *Allocator) Next() (int64, bool) {
	if a.next == a.cur.End() {
		if !a.hasSpare {
			return 0, false
		}
		a.cur, a.next, a.hasSpare = a.spare, a.spare.Start, false
	}
	id := a.next
	a.next++
	return id, true
}

// Prefetch reports whether a claim should start now and, if so, marks one
// running: no claim runs, no spare is held and the current block has less
// than a tenth of a block left.
func (a *Allocator) Prefetch() bool {
	if a.claiming || a.hasSpare {
		return false
	}
	if a.cur.End()-a.next > a.size/10 {
		return false
	}
	a.claiming = true
	return true
}

// Claiming reports whether a claim is running.
func (a *Allocator) Claiming() bool { return a.claiming }

// Claimed adds the block a claim returned: it becomes the spare, used once
// the current block is exhausted.
func (a *Allocator) Claimed(b Block) {
	a.claiming = false
	if a.next == a.cur.End() && !a.hasSpare {
		a.cur, a.next = b, b.Start
		return
	}
	a.spare, a.hasSpare = b, true
}

// ClaimFailed ends a running claim without a block; the next Prefetch
// starts another.
func (a *Allocator) ClaimFailed() { a.claiming = false }

// Available is how many ids the allocator can hand out without a claim.
func (a *Allocator) Available() int64 {
	n := a.cur.End() - a.next
	if a.hasSpare {
		n += a.spare.Size
	}
	return n
}
