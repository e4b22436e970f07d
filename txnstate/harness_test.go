package txnstate

import (
	"errors"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

var t0 = time.UnixMilli(1700000000000)

// harness drives one Txn the way the coordinator actor does, with a log of
// what was persisted.
type harness struct {
	t   *testing.T
	txn *Txn
	now time.Time
	// log holds the values persisted, in order (nil: a tombstone).
	log []*Metadata
	// fx is the last call's effects.
	fx        Effects
	persist   *Persist // outstanding write
	markers   *Markers // last markers asked for
	nextReq   RequestID
	nextPID   int64
	lastReply Reply
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	txn, err := New("etl", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, txn: txn, now: t0, nextPID: 1000}
}

// take records fx.
func (h *harness) take(fx Effects) Effects {
	h.t.Helper()
	h.fx = fx
	if fx.Persist != nil {
		if h.persist != nil {
			h.t.Fatalf("second write while seq %d is outstanding", h.persist.Seq)
		}
		h.persist = fx.Persist
	}
	if fx.Markers != nil {
		h.markers = fx.Markers
	}
	if len(fx.Replies) > 0 {
		h.lastReply = fx.Replies[len(fx.Replies)-1]
	}
	return fx
}

// done completes the outstanding write with err.
func (h *harness) done(err error) Effects {
	h.t.Helper()
	if h.persist == nil {
		h.t.Fatal("no write outstanding")
	}
	p := h.persist
	h.persist = nil
	if err == nil {
		h.log = append(h.log, p.Metadata)
	}
	return h.take(h.txn.PersistDone(h.now, p.Seq, err))
}

func (h *harness) req() RequestID { h.nextReq++; return h.nextReq }

// init runs an InitProducerId to its answer, allocating ids on demand and
// persisting successfully.
func (h *harness) init(pid int64, epoch int16) Reply {
	h.t.Helper()
	req := InitRequest{RequestID: h.req(), Timeout: time.Minute, ProducerID: pid, ProducerEpoch: epoch}
	fx := h.take(h.txn.InitProducerID(h.now, req, NoProducerID))
	if fx.NeedProducerID {
		h.nextPID++
		fx = h.take(h.txn.InitProducerID(h.now, req, h.nextPID))
	}
	if fx.Persist != nil {
		fx = h.done(nil)
	}
	return h.reply(fx, req.RequestID)
}

func (h *harness) reply(fx Effects, id RequestID) Reply {
	h.t.Helper()
	for _, r := range fx.Replies {
		if r.RequestID == id {
			return r
		}
	}
	h.t.Fatalf("no reply to request %d in %+v", id, fx)
	return Reply{}
}

// add runs an AddPartitions; persisted successfully if it writes.
func (h *harness) add(pid int64, epoch int16, ps ...Partition) error {
	h.t.Helper()
	id := h.req()
	fx := h.take(h.txn.AddPartitions(h.now, AddPartitionsRequest{RequestID: id, ProducerID: pid, ProducerEpoch: epoch, Partitions: ps}))
	if fx.Persist != nil {
		fx = h.done(nil)
	}
	return h.reply(fx, id).Err
}

// end runs an EndTxn; persisted successfully if it writes.
func (h *harness) end(pid int64, epoch int16, commit bool) error {
	h.t.Helper()
	id := h.req()
	fx := h.take(h.txn.EndTxn(h.now, EndRequest{RequestID: id, ProducerID: pid, ProducerEpoch: epoch, Commit: commit}))
	if fx.Persist != nil {
		fx = h.done(nil)
	}
	return h.reply(fx, id).Err
}

// writeMarkers reports every asked-for marker written and persists the
// completion.
func (h *harness) writeMarkers() {
	h.t.Helper()
	if h.markers == nil {
		h.t.Fatal("no markers asked for")
	}
	for _, p := range h.markers.Partitions {
		h.take(h.txn.MarkerWritten(h.now, p))
	}
	h.markers = nil
	if h.persist == nil {
		h.t.Fatal("completion not persisted")
	}
	h.done(nil)
}

func (h *harness) state() State {
	h.t.Helper()
	md := h.txn.Metadata()
	if md == nil {
		h.t.Fatal("no state")
	}
	return md.State
}

func wantCode(t *testing.T, err error, code messages.ErrorCode) {
	t.Helper()
	if messages.CodeFor(err) != code {
		t.Fatalf("error %v, want %s", err, code)
	}
	if code != messages.ErrorCode_NONE {
		var e *messages.Error
		if !errors.As(err, &e) {
			t.Fatalf("%v is not a wire error", err)
		}
	}
}

var (
	pIn  = Partition{"in", 0}
	pOut = Partition{"out", 1}
	pOff = Partition{"__consumer_offsets", 7}
)
