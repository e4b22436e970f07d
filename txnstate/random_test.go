package txnstate

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

// TestTxnRandomInvariants drives a Txn with random requests from two
// producer instances, random write outcomes, marker writes, time passing
// and coordinator failovers (a Load of what the log holds), and checks
// Kafka's invariants after every step.
func TestTxnRandomInvariants(t *testing.T) {
	for seed := range uint64(200) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runRandom(t, seed) })
	}
}

type randomRun struct {
	t   *testing.T
	rng *rand.Rand
	txn *Txn
	now time.Time
	// log is the persisted values, encoded as the coordinator writes them.
	log [][]byte
	// outstanding write and what it writes.
	persist *Persist
	// open requests by id; each must be answered exactly once.
	open map[RequestID]openRequest
	next RequestID
	// markers asked for and not yet reported.
	markers []Partition
	// sessions the producers hold (pid, epoch), -1 for none.
	sessions [2][2]int64
	pid      int64
	// decided maps a transaction (pid, epoch, start) to its decision.
	decided map[[3]int64]State
	// commitsAnswered: EndTxn(commit) answered NONE for these (pid, epoch, start).
	commitsAnswered map[[3]int64]bool
}

func runRandom(t *testing.T, seed uint64) {
	cfg := DefaultConfig()
	cfg.MaxPartitions = 4
	cfg.IDExpiration = 10 * time.Minute
	txn, err := New("etl", cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &randomRun{t: t, rng: rand.New(rand.NewPCG(seed, seed)), txn: txn, now: t0, open: map[RequestID]openRequest{},
		sessions: [2][2]int64{{-1, -1}, {-1, -1}}, pid: 100, decided: map[[3]int64]State{}, commitsAnswered: map[[3]int64]bool{}}
	partitions := []Partition{pIn, pOut, pOff, {"x", 0}, {"x", 1}}
	for step := 0; step < 300; step++ {
		prod := r.rng.IntN(2)
		pid, epoch := r.sessions[prod][0], int16(r.sessions[prod][1])
		switch op := r.rng.IntN(12); op {
		case 0, 1:
			id := r.request("init", prod)
			req := InitRequest{RequestID: id, Timeout: time.Duration(1+r.rng.IntN(3)) * time.Minute, ProducerID: -1, ProducerEpoch: -1}
			if r.rng.IntN(2) == 0 {
				req.ProducerID, req.ProducerEpoch = pid, epoch
			}
			fx := r.txn.InitProducerID(r.now, req, NoProducerID)
			if fx.NeedProducerID {
				r.pid++
				fx = r.txn.InitProducerID(r.now, req, r.pid)
			}
			r.apply(fx)
		case 2, 3:
			n := 1 + r.rng.IntN(3)
			ps := make([]Partition, n)
			for i := range ps {
				ps[i] = partitions[r.rng.IntN(len(partitions))]
			}
			r.apply(r.txn.AddPartitions(r.now, AddPartitionsRequest{RequestID: r.request("add", prod), ProducerID: pid, ProducerEpoch: epoch, Partitions: ps}))
		case 4:
			r.apply(r.txn.EndTxn(r.now, EndRequest{RequestID: r.request("end", prod), ProducerID: pid, ProducerEpoch: epoch, Commit: r.rng.IntN(3) > 0}))
		case 5, 6:
			if r.persist != nil {
				p := r.persist
				r.persist = nil
				var err error
				if r.rng.IntN(4) == 0 {
					err = messages.Wrap(messages.ErrorCode_REQUEST_TIMED_OUT, "injected")
				} else {
					r.persisted(p.Metadata)
				}
				r.apply(r.txn.PersistDone(r.now, p.Seq, err))
			}
		case 7, 8:
			if len(r.markers) > 0 {
				i := r.rng.IntN(len(r.markers))
				p := r.markers[i]
				r.markers = slices.Delete(r.markers, i, i+1)
				r.apply(r.txn.MarkerWritten(r.now, p))
			}
		case 9:
			r.now = r.now.Add(time.Duration(r.rng.IntN(90)) * time.Second)
			r.apply(r.txn.Tick(r.now))
		case 10:
			r.now = r.now.Add(time.Duration(r.rng.IntN(15)) * time.Minute)
			r.apply(r.txn.Tick(r.now))
		case 11:
			if r.rng.IntN(3) == 0 {
				// Failover: a new coordinator loads the log; an outstanding
				// write may or may not have made it.
				if r.persist != nil && r.rng.IntN(2) == 0 {
					r.persisted(r.persist.Metadata)
				}
				r.apply(r.txn.Unload())
				r.persist, r.markers = nil, nil
				fresh, _ := New("etl", cfg)
				r.txn = fresh
				r.apply(r.txn.Load(r.now, r.replay()))
			}
		}
		r.check()
	}
	// Every request was answered, except one waiting for its write.
	if len(r.open) > 1 || (len(r.open) == 1 && r.persist == nil) {
		t.Fatalf("unanswered requests %v (write outstanding: %v)", r.open, r.persist != nil)
	}
}

type openRequest struct {
	kind string
	prod int
}

func (r *randomRun) request(kind string, prod int) RequestID {
	r.next++
	r.open[r.next] = openRequest{kind, prod}
	return r.next
}

func (r *randomRun) persisted(md *Metadata) {
	if md == nil {
		r.log = append(r.log, nil)
		return
	}
	r.log = append(r.log, md.Encode())
	key := [3]int64{md.ProducerID, int64(md.ProducerEpoch), md.StartTimestamp}
	switch md.State {
	case PrepareCommit, PrepareAbort:
		if prev, ok := r.decided[key]; ok && prev != md.State {
			r.t.Fatalf("transaction %v decided %s, then %s", key, prev, md.State)
		}
		r.decided[key] = md.State
	case CompleteCommit, CompleteAbort:
		want := PrepareCommit
		if md.State == CompleteAbort {
			want = PrepareAbort
		}
		if r.decided[key] != want {
			r.t.Fatalf("%s persisted for %v decided %s", md.State, key, r.decided[key])
		}
		if len(r.markers) > 0 {
			r.t.Fatalf("%s persisted with markers %v outstanding", md.State, r.markers)
		}
	}
}

// replay decodes the log as a new coordinator would.
func (r *randomRun) replay() *Metadata {
	rp := NewReplay()
	for _, v := range r.log {
		if err := rp.Apply(EncodeKey("etl"), v); err != nil {
			r.t.Fatal(err)
		}
	}
	return rp.Txns["etl"]
}

func (r *randomRun) apply(fx Effects) {
	if fx.NeedProducerID {
		r.t.Fatal("asked for a producer id twice")
	}
	if fx.Persist != nil {
		if r.persist != nil {
			r.t.Fatalf("two writes outstanding")
		}
		r.persist = fx.Persist
		if md := fx.Persist.Metadata; md != nil {
			if prev := r.txn.Metadata(); prev != nil && !CanTransition(prev.State, md.State) {
				r.t.Fatalf("write %s → %s", prev.State, md.State)
			}
		}
	}
	for _, rep := range fx.Replies {
		req, ok := r.open[rep.RequestID]
		kind := req.kind
		if !ok {
			r.t.Fatalf("reply to unknown or answered request %d: %+v", rep.RequestID, rep)
		}
		delete(r.open, rep.RequestID)
		if messages.CodeFor(rep.Err) == messages.ErrorCode_UNKNOWN_SERVER_ERROR {
			r.t.Fatalf("internal error: %v", rep.Err)
		}
		if kind == "init" && rep.Err == nil {
			r.sessions[req.prod] = [2]int64{rep.ProducerID, int64(rep.ProducerEpoch)}
		}
		if kind == "init" && rep.Err == nil {
			md := r.txn.Metadata()
			if md == nil || md.ProducerID != rep.ProducerID || md.ProducerEpoch != rep.ProducerEpoch || md.State != Empty {
				r.t.Fatalf("init answered %+v, state %+v", rep, md)
			}
		}
		if kind == "end" && rep.Err == nil {
			md := r.txn.Metadata()
			if md.State == PrepareCommit || md.State == CompleteCommit {
				r.commitsAnswered[[3]int64{md.ProducerID, int64(md.ProducerEpoch), md.StartTimestamp}] = true
			}
		}
	}
	if fx.Markers != nil {
		md := r.txn.Metadata()
		if md == nil || (md.State != PrepareCommit && md.State != PrepareAbort) || fx.Markers.Commit != (md.State == PrepareCommit) ||
			fx.Markers.ProducerEpoch != md.ProducerEpoch || !slices.Equal(fx.Markers.Partitions, md.Partitions) {
			r.t.Fatalf("markers %+v in state %+v", fx.Markers, md)
		}
		r.markers = slices.Clone(fx.Markers.Partitions)
	}
	if !fx.Deadline.IsZero() && r.persist != nil {
		r.t.Fatal("deadline while a write is outstanding")
	}
}

func (r *randomRun) check() {
	md := r.txn.Metadata()
	// The state is what the log says (the fields Kafka persists).
	last := r.replay()
	switch {
	case md == nil && last != nil && r.txn.pending == nil && r.persist == nil:
		// A failover may load a state the next write replaces; without
		// one the two agree.
		r.t.Fatalf("no state, log has %+v", last)
	case md != nil && last == nil:
		r.t.Fatalf("state %+v not in the log", md)
	case md != nil && !bytes.Equal(md.Encode(), last.Encode()):
		r.t.Fatalf("state %+v, log %+v", md, last)
	}
	if md == nil {
		return
	}
	if md.State == Dead || md.State == PrepareEpochFence {
		r.t.Fatalf("state %s", md.State)
	}
	if md.State.open() != (len(md.Partitions) > 0) {
		r.t.Fatalf("%s with partitions %v", md.State, md.Partitions)
	}
	if md.State.open() && md.StartTimestamp < 0 {
		r.t.Fatalf("%s without a start", md.State)
	}
	if len(md.Partitions) > 4 {
		r.t.Fatalf("%d partitions", len(md.Partitions))
	}
	if !slices.IsSortedFunc(md.Partitions, comparePartitions) {
		r.t.Fatalf("unsorted %v", md.Partitions)
	}
	// Every answered commit was persisted as a commit decision and never
	// aborted.
	for key := range r.commitsAnswered {
		if r.decided[key] != PrepareCommit {
			r.t.Fatalf("commit of %v answered but decided %s", key, r.decided[key])
		}
	}
	// Epochs only grow for a producer id.
	for i := 1; i < len(r.log); i++ {
		a, _ := DecodeValue(r.log[i-1])
		b, _ := DecodeValue(r.log[i])
		if a != nil && b != nil && a.ProducerID == b.ProducerID && b.ProducerEpoch < a.ProducerEpoch {
			r.t.Fatalf("epoch went back: %+v → %+v", a, b)
		}
	}
}
