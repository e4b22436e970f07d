package txnstate

import "fmt"

// State is a transactional id's position in Kafka's transaction protocol.
// The values are Kafka's state ids, as stored in __transaction_state, and
// String returns Kafka's names, as DescribeTransactions reports them.
type State int8

const (
	// Empty: no transaction is open; the producer id and epoch are set.
	Empty State = 0
	// Ongoing: partitions were added; the producer is writing.
	Ongoing State = 1
	// PrepareCommit: the commit is decided and persisted; COMMIT markers
	// are being written to every partition of the transaction.
	PrepareCommit State = 2
	// PrepareAbort: the abort is decided and persisted; ABORT markers are
	// being written.
	PrepareAbort State = 3
	// CompleteCommit: every COMMIT marker is written.
	CompleteCommit State = 4
	// CompleteAbort: every ABORT marker is written.
	CompleteAbort State = 5
	// Dead: the transactional id expired; its record is a tombstone.
	Dead State = 6
	// PrepareEpochFence: the epoch is being bumped to fence an older
	// producer whose transaction is aborted. It is never persisted: the
	// fence is written as PrepareAbort with the bumped epoch.
	PrepareEpochFence State = 7
)

var stateNames = [...]string{
	Empty:             "Empty",
	Ongoing:           "Ongoing",
	PrepareCommit:     "PrepareCommit",
	PrepareAbort:      "PrepareAbort",
	CompleteCommit:    "CompleteCommit",
	CompleteAbort:     "CompleteAbort",
	Dead:              "Dead",
	PrepareEpochFence: "PrepareEpochFence",
}

func (s State) String() string {
	if s.valid() {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int8(s))
}

func (s State) valid() bool { return s >= 0 && int(s) < len(stateNames) }

// ParseState returns the state with Kafka's name name.
func ParseState(name string) (State, bool) {
	for s, n := range stateNames {
		if n == name {
			return State(s), true
		}
	}
	return 0, false
}

// States lists every state in id order.
func States() []State {
	out := make([]State, len(stateNames))
	for i := range out {
		out[i] = State(i)
	}
	return out
}

// validPrevious is Kafka's TransactionState.validPreviousStates: the
// states a transition into the key may start from.
var validPrevious = map[State][]State{
	Empty:             {Empty, CompleteCommit, CompleteAbort},
	Ongoing:           {Ongoing, Empty, CompleteCommit, CompleteAbort},
	PrepareCommit:     {Ongoing},
	PrepareAbort:      {Ongoing, PrepareEpochFence},
	CompleteCommit:    {PrepareCommit},
	CompleteAbort:     {PrepareAbort},
	Dead:              {Empty, CompleteCommit, CompleteAbort},
	PrepareEpochFence: {Ongoing},
}

// CanTransition reports whether Kafka's protocol allows moving from one
// state to another.
func CanTransition(from, to State) bool {
	for _, s := range validPrevious[to] {
		if s == from {
			return true
		}
	}
	return false
}

// open reports whether a transaction is in progress: partitions hold
// records (or markers) of it.
func (s State) open() bool { return s == Ongoing || s == PrepareCommit || s == PrepareAbort }

// expirable reports whether a transactional id in this state may expire
// (Kafka's isExpirationAllowed).
func (s State) expirable() bool { return s == Empty || s == CompleteCommit || s == CompleteAbort }
