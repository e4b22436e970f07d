package txnstate

import (
	"reflect"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/messages"
)

const (
	NONE       = messages.ErrorCode_NONE
	CONCURRENT = messages.ErrorCode_CONCURRENT_TRANSACTIONS
	FENCED     = messages.ErrorCode_PRODUCER_FENCED
	MAPPING    = messages.ErrorCode_INVALID_PRODUCER_ID_MAPPING
	BADSTATE   = messages.ErrorCode_INVALID_TXN_STATE
	BADTIMEOUT = messages.ErrorCode_INVALID_TRANSACTION_TIMEOUT
	BADREQUEST = messages.ErrorCode_INVALID_REQUEST
	NOTCOORD   = messages.ErrorCode_NOT_COORDINATOR
	TIMEDOUT   = messages.ErrorCode_REQUEST_TIMED_OUT
)

func TestTxnCommitLifecycle(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	// A new transactional id asks for a producer id, persists Empty with
	// epoch 0 and answers with them.
	r := h.init(-1, -1)
	wantCode(t, r.Err, NONE)
	if r.ProducerID != 1001 || r.ProducerEpoch != 0 || h.state() != Empty || len(h.log) != 1 {
		t.Fatalf("init %+v, state %s, log %d", r, h.state(), len(h.log))
	}
	pid, epoch := r.ProducerID, r.ProducerEpoch

	// The first partition starts the transaction; known partitions are
	// answered without a write; new ones are added.
	h.now = h.now.Add(time.Second)
	wantCode(t, h.add(pid, epoch, pIn), NONE)
	md := h.txn.Metadata()
	if md.State != Ongoing || md.StartTimestamp != h.now.UnixMilli() || !reflect.DeepEqual(md.Partitions, []Partition{pIn}) {
		t.Fatalf("after add %+v", md)
	}
	h.now = h.now.Add(time.Second)
	writes := len(h.log)
	wantCode(t, h.add(pid, epoch, pIn), NONE)
	if len(h.log) != writes {
		t.Fatal("a known partition was written again")
	}
	wantCode(t, h.add(pid, epoch, pOut, pOff), NONE)
	md = h.txn.Metadata()
	if !reflect.DeepEqual(md.Partitions, []Partition{pOff, pIn, pOut}) || md.StartTime() != h.now.Add(-time.Second) {
		t.Fatalf("after second add %+v", md)
	}

	// EndTxn(commit) is answered once PrepareCommit is persisted; the
	// markers are asked for in the same step.
	id := h.req()
	fx := h.take(h.txn.EndTxn(h.now, EndRequest{RequestID: id, ProducerID: pid, ProducerEpoch: epoch, Commit: true}))
	if fx.Persist == nil || fx.Persist.Metadata.State != PrepareCommit || len(fx.Replies) != 0 || h.state() != Ongoing {
		t.Fatalf("end before persist: %+v, state %s", fx, h.state())
	}
	fx = h.done(nil)
	wantCode(t, h.reply(fx, id).Err, NONE)
	want := &Markers{ProducerID: pid, ProducerEpoch: epoch, Commit: true, Partitions: []Partition{pOff, pIn, pOut}}
	if !reflect.DeepEqual(fx.Markers, want) || fx.Deadline != (time.Time{}) {
		t.Fatalf("markers %+v deadline %v", fx.Markers, fx.Deadline)
	}

	// While the markers are written: the next transaction waits, a retry
	// of the commit waits, the other decision is refused.
	wantCode(t, h.add(pid, epoch, pIn), CONCURRENT)
	wantCode(t, h.end(pid, epoch, true), CONCURRENT)
	wantCode(t, h.end(pid, epoch, false), BADSTATE)
	wantCode(t, h.init(pid, epoch).Err, CONCURRENT)

	// Markers one by one; the last one persists CompleteCommit.
	h.take(h.txn.MarkerWritten(h.now, pIn))
	h.take(h.txn.MarkerWritten(h.now, pIn)) // a duplicate report changes nothing
	if h.persist != nil || !reflect.DeepEqual(h.txn.OutstandingMarkers(), []Partition{pOff, pOut}) {
		t.Fatalf("completion before every marker; outstanding %v", h.txn.OutstandingMarkers())
	}
	h.take(h.txn.MarkerWritten(h.now, pOut))
	h.take(h.txn.MarkerWritten(h.now, pOff))
	if h.persist == nil || h.persist.Metadata.State != CompleteCommit || h.persist.Metadata.Partitions != nil {
		t.Fatalf("completion %+v", h.persist)
	}
	h.done(nil)
	if h.state() != CompleteCommit || h.fx.Deadline != h.now.Add(DefaultIDExpiration) {
		t.Fatalf("state %s deadline %v", h.state(), h.fx.Deadline)
	}

	// A retried commit is answered OK; an abort now is refused; the next
	// transaction starts from CompleteCommit with a new start time.
	wantCode(t, h.end(pid, epoch, true), NONE)
	wantCode(t, h.end(pid, epoch, false), BADSTATE)
	h.now = h.now.Add(time.Second)
	wantCode(t, h.add(pid, epoch, pOut), NONE)
	if md := h.txn.Metadata(); md.StartTimestamp != h.now.UnixMilli() || !reflect.DeepEqual(md.Partitions, []Partition{pOut}) {
		t.Fatalf("second transaction %+v", md)
	}
	wantCode(t, h.end(pid, epoch, false), NONE)
	if h.state() != PrepareAbort || h.markers == nil || h.markers.Commit {
		t.Fatalf("abort: state %s markers %+v", h.state(), h.markers)
	}
	h.writeMarkers()
	if h.state() != CompleteAbort {
		t.Fatalf("state %s", h.state())
	}
	wantCode(t, h.end(pid, epoch, false), NONE)
	wantCode(t, h.end(pid, epoch, true), BADSTATE)
}

func TestTxnInitFencesOpenTransaction(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	old := h.init(-1, -1)
	wantCode(t, h.add(old.ProducerID, old.ProducerEpoch, pIn, pOut), NONE)

	// A second instance: the open transaction is aborted with the epoch
	// bumped (persisted as PrepareAbort), the instance told to retry.
	id := h.req()
	fx := h.take(h.txn.InitProducerID(h.now, InitRequest{RequestID: id, Timeout: time.Minute, ProducerID: -1, ProducerEpoch: -1}, NoProducerID))
	if fx.NeedProducerID || fx.Persist == nil {
		t.Fatalf("fence %+v", fx)
	}
	fenced := fx.Persist.Metadata
	if fenced.State != PrepareAbort || fenced.ProducerEpoch != old.ProducerEpoch+1 || fenced.ProducerID != old.ProducerID {
		t.Fatalf("fence writes %+v", fenced)
	}
	// Until persisted the old producer is not fenced yet: nothing changes
	// before the write.
	if h.state() != Ongoing || h.txn.Metadata().ProducerEpoch != old.ProducerEpoch {
		t.Fatal("state changed before the write")
	}
	fx = h.done(nil)
	wantCode(t, h.reply(fx, id).Err, CONCURRENT)
	if fx.Markers == nil || fx.Markers.Commit || fx.Markers.ProducerEpoch != old.ProducerEpoch+1 {
		t.Fatalf("abort markers %+v", fx.Markers)
	}

	// The zombie: fenced everywhere.
	wantCode(t, h.add(old.ProducerID, old.ProducerEpoch, pIn), FENCED)
	wantCode(t, h.end(old.ProducerID, old.ProducerEpoch, true), FENCED)
	// The new instance retries until the abort completes, then gets the
	// next epoch.
	wantCode(t, h.init(-1, -1).Err, CONCURRENT)
	h.writeMarkers()
	if h.state() != CompleteAbort {
		t.Fatalf("state %s", h.state())
	}
	r := h.init(-1, -1)
	wantCode(t, r.Err, NONE)
	if r.ProducerID != old.ProducerID || r.ProducerEpoch != old.ProducerEpoch+2 {
		t.Fatalf("new session %+v", r)
	}
	wantCode(t, h.end(old.ProducerID, old.ProducerEpoch, false), FENCED)
	wantCode(t, h.add(old.ProducerID, old.ProducerEpoch+1, pIn), FENCED)
}

func TestTxnTimeoutAbortsAndFences(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	r := h.init(-1, -1) // timeout one minute
	wantCode(t, h.add(r.ProducerID, r.ProducerEpoch, pIn), NONE)
	if want := h.now.Add(time.Minute); h.fx.Deadline != want {
		t.Fatalf("deadline %v, want %v", h.fx.Deadline, want)
	}
	// Early ticks do nothing.
	h.now = h.now.Add(59 * time.Second)
	if fx := h.take(h.txn.Tick(h.now)); fx.Persist != nil {
		t.Fatalf("early tick %+v", fx)
	}
	h.now = h.now.Add(time.Second)
	fx := h.take(h.txn.Tick(h.now))
	if fx.Persist == nil || fx.Persist.Metadata.State != PrepareAbort || fx.Persist.Metadata.ProducerEpoch != r.ProducerEpoch+1 || len(fx.Replies) != 0 {
		t.Fatalf("timeout %+v", fx)
	}
	fx = h.done(nil)
	if fx.Markers == nil || fx.Markers.Commit || len(fx.Replies) != 0 {
		t.Fatalf("timeout markers %+v", fx)
	}
	// The silent producer wakes up: fenced.
	wantCode(t, h.end(r.ProducerID, r.ProducerEpoch, true), FENCED)
	h.writeMarkers()
	if h.state() != CompleteAbort {
		t.Fatalf("state %s", h.state())
	}
}

func TestTxnIDExpires(t *testing.T) {
	cfg := DefaultConfig()
	cfg.IDExpiration = time.Hour
	h := newHarness(t, cfg)
	r := h.init(-1, -1)
	if h.fx.Deadline != h.now.Add(time.Hour) {
		t.Fatalf("deadline %v", h.fx.Deadline)
	}
	h.now = h.now.Add(time.Hour)
	fx := h.take(h.txn.Tick(h.now))
	if fx.Persist == nil || fx.Persist.Metadata != nil {
		t.Fatalf("expiry writes %+v", fx.Persist)
	}
	h.done(nil)
	if h.txn.Metadata() != nil || h.fx.Deadline != (time.Time{}) {
		t.Fatalf("expired id still has %+v", h.txn.Metadata())
	}
	wantCode(t, h.add(r.ProducerID, r.ProducerEpoch, pIn), MAPPING)
	// Starting again gets a fresh producer id.
	if r2 := h.init(-1, -1); r2.Err != nil || r2.ProducerID == r.ProducerID || r2.ProducerEpoch != 0 {
		t.Fatalf("after expiry %+v", r2)
	}
	// An open transaction never expires.
	wantCode(t, h.add(h.lastReply.ProducerID, 0, pIn), NONE)
	h.now = h.now.Add(24 * time.Hour)
	fx = h.take(h.txn.Tick(h.now))
	if fx.Persist == nil || fx.Persist.Metadata == nil || fx.Persist.Metadata.State != PrepareAbort {
		t.Fatalf("an open transaction is aborted, not expired: %+v", fx.Persist)
	}
}

func TestTxnFailedWritesChangeNothing(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	failure := messages.Wrap(TIMEDOUT, "append timed out")

	// A failed first InitProducerId leaves no state.
	id := h.req()
	h.take(h.txn.InitProducerID(h.now, InitRequest{RequestID: id, Timeout: time.Minute, ProducerID: -1, ProducerEpoch: -1}, 77))
	fx := h.done(failure)
	wantCode(t, h.reply(fx, id).Err, TIMEDOUT)
	if h.txn.Metadata() != nil {
		t.Fatal("state left by a failed write")
	}
	r := h.init(-1, -1)

	// A failed add leaves the transaction as it was.
	id = h.req()
	h.take(h.txn.AddPartitions(h.now, AddPartitionsRequest{RequestID: id, ProducerID: r.ProducerID, ProducerEpoch: r.ProducerEpoch, Partitions: []Partition{pIn}}))
	wantCode(t, h.reply(h.done(failure), id).Err, TIMEDOUT)
	if h.state() != Empty {
		t.Fatalf("state %s", h.state())
	}
	wantCode(t, h.add(r.ProducerID, r.ProducerEpoch, pIn), NONE)

	// A failed fence: the old epoch still rules; the next try bumps to
	// the same epoch.
	id = h.req()
	h.take(h.txn.InitProducerID(h.now, InitRequest{RequestID: id, Timeout: time.Minute, ProducerID: -1, ProducerEpoch: -1}, NoProducerID))
	bumped := h.persist.Metadata.ProducerEpoch
	wantCode(t, h.reply(h.done(failure), id).Err, TIMEDOUT)
	if md := h.txn.Metadata(); md.State != Ongoing || md.ProducerEpoch != r.ProducerEpoch {
		t.Fatalf("after failed fence %+v", md)
	}
	h.take(h.txn.InitProducerID(h.now, InitRequest{RequestID: h.req(), Timeout: time.Minute, ProducerID: -1, ProducerEpoch: -1}, NoProducerID))
	if h.persist.Metadata.ProducerEpoch != bumped {
		t.Fatalf("second fence bumps to %d, first to %d", h.persist.Metadata.ProducerEpoch, bumped)
	}
	h.done(nil)

	// A failed completion is retried after the backoff by Tick.
	for _, p := range h.markers.Partitions {
		h.take(h.txn.MarkerWritten(h.now, p))
	}
	h.done(failure)
	if h.state() != PrepareAbort || h.fx.Deadline != h.now.Add(DefaultRetryBackoff) {
		t.Fatalf("state %s deadline %v", h.state(), h.fx.Deadline)
	}
	if fx := h.take(h.txn.Tick(h.now)); fx.Persist != nil {
		t.Fatal("retried before the backoff")
	}
	h.now = h.now.Add(DefaultRetryBackoff)
	if fx := h.take(h.txn.Tick(h.now)); fx.Persist == nil || fx.Persist.Metadata.State != CompleteAbort {
		t.Fatalf("retry %+v", fx.Persist)
	}
	h.done(nil)
	if h.state() != CompleteAbort {
		t.Fatalf("state %s", h.state())
	}

	// A stale or unknown write outcome is ignored.
	before := h.txn.Metadata()
	h.take(h.txn.PersistDone(h.now, 12345, nil))
	if !reflect.DeepEqual(before, h.txn.Metadata()) {
		t.Fatal("stale PersistDone changed the state")
	}
}

func TestTxnRequestErrors(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxPartitions = 2
	h := newHarness(t, cfg)
	// Unknown transactional id.
	wantCode(t, h.add(5, 0, pIn), MAPPING)
	wantCode(t, h.end(5, 0, true), MAPPING)
	// Timeouts out of range.
	for _, timeout := range []time.Duration{0, -time.Second, DefaultMaxTimeout + time.Millisecond} {
		id := h.req()
		fx := h.take(h.txn.InitProducerID(h.now, InitRequest{RequestID: id, Timeout: timeout, ProducerID: -1, ProducerEpoch: -1}, 9))
		wantCode(t, h.reply(fx, id).Err, BADTIMEOUT)
	}
	r := h.init(-1, -1)
	pid, epoch := r.ProducerID, r.ProducerEpoch
	for _, c := range []struct {
		name string
		err  error
		want messages.ErrorCode
	}{
		{"other producer id", h.add(pid+1, epoch, pIn), MAPPING},
		{"old epoch", h.add(pid, epoch-1, pIn), FENCED},
		{"newer epoch", h.add(pid, epoch+1, pIn), FENCED},
		{"no partitions", h.add(pid, epoch), BADREQUEST},
		{"too many partitions", h.add(pid, epoch, pIn, pOut, pOff), BADREQUEST},
		{"end with nothing open", h.end(pid, epoch, true), BADSTATE},
		{"abort with nothing open", h.end(pid, epoch, false), BADSTATE},
		{"end other producer", h.end(pid+1, epoch, true), MAPPING},
		{"end fenced epoch", h.end(pid, epoch+3, true), FENCED},
	} {
		t.Run(c.name, func(t *testing.T) { wantCode(t, c.err, c.want) })
	}
	if h.state() != Empty || len(h.log) != 1 {
		t.Fatalf("refused requests wrote: state %s log %d", h.state(), len(h.log))
	}

	// A request while a write is outstanding waits.
	id := h.req()
	h.take(h.txn.AddPartitions(h.now, AddPartitionsRequest{RequestID: id, ProducerID: pid, ProducerEpoch: epoch, Partitions: []Partition{pIn}}))
	id2 := h.req()
	fx := h.take(h.txn.AddPartitions(h.now, AddPartitionsRequest{RequestID: id2, ProducerID: pid, ProducerEpoch: epoch, Partitions: []Partition{pOut}}))
	wantCode(t, h.reply(fx, id2).Err, CONCURRENT)
	fx = h.take(h.txn.EndTxn(h.now, EndRequest{RequestID: h.req(), ProducerID: pid, ProducerEpoch: epoch, Commit: true}))
	wantCode(t, fx.Replies[0].Err, CONCURRENT)
	fx = h.take(h.txn.InitProducerID(h.now, InitRequest{RequestID: h.req(), Timeout: time.Minute, ProducerID: -1, ProducerEpoch: -1}, NoProducerID))
	wantCode(t, fx.Replies[0].Err, CONCURRENT)

	// Unload answers the waiting request.
	fx = h.txn.Unload()
	wantCode(t, h.reply(fx, id).Err, NOTCOORD)
	if h.txn.Metadata() != nil {
		t.Fatal("state after unload")
	}
}

func TestTxnInitWithSession(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	r := h.init(-1, -1)
	pid := r.ProducerID
	// KIP-360: the producer bumps its own epoch; a retry whose answer was
	// lost gets the same answer; anything else is fenced.
	r1 := h.init(pid, r.ProducerEpoch)
	if r1.Err != nil || r1.ProducerID != pid || r1.ProducerEpoch != r.ProducerEpoch+1 {
		t.Fatalf("bump %+v", r1)
	}
	if md := h.txn.Metadata(); md.LastProducerEpoch != r.ProducerEpoch {
		t.Fatalf("last epoch %+v", md)
	}
	r2 := h.init(pid, r.ProducerEpoch)
	if r2.Err != nil || r2.ProducerEpoch != r1.ProducerEpoch {
		t.Fatalf("retry %+v", r2)
	}
	wantCode(t, h.init(pid, r1.ProducerEpoch+5).Err, FENCED)
	wantCode(t, h.init(pid+7, r1.ProducerEpoch).Err, FENCED)
	// A new instance (no session) bumps and forgets the last epoch, so the
	// previous session's retry is fenced now.
	r3 := h.init(-1, -1)
	if r3.ProducerEpoch != r1.ProducerEpoch+1 || h.txn.Metadata().LastProducerEpoch != NoProducerEpoch {
		t.Fatalf("new instance %+v", r3)
	}
	wantCode(t, h.init(pid, r.ProducerEpoch).Err, FENCED)
}

func TestTxnEpochExhaustionRotatesProducerID(t *testing.T) {
	h := newHarness(t, DefaultConfig())
	h.take(h.txn.Load(h.now, &Metadata{ProducerID: 50, ProducerEpoch: 32765, LastProducerID: -1, LastProducerEpoch: -1,
		Timeout: time.Minute, State: CompleteCommit, StartTimestamp: -1, LastUpdateTimestamp: h.now.UnixMilli()}))
	r := h.init(-1, -1)
	if r.Err != nil || r.ProducerID != 50 || r.ProducerEpoch != 32766 {
		t.Fatalf("last epoch %+v", r)
	}
	// 32766 is exhausted: the next session gets a new producer id.
	r2 := h.init(50, 32766)
	if r2.Err != nil || r2.ProducerID == 50 || r2.ProducerEpoch != 0 {
		t.Fatalf("rotation %+v", r2)
	}
	if md := h.txn.Metadata(); md.LastProducerID != 50 || md.LastProducerEpoch != 32766 {
		t.Fatalf("after rotation %+v", md)
	}
	// The retry of that call, with the old id and exhausted epoch, is not
	// fenced.
	r3 := h.init(50, 32766)
	if r3.Err != nil || r3.ProducerID != r2.ProducerID {
		t.Fatalf("retry across rotation %+v", r3)
	}
	// Fencing an open transaction at the last usable epoch still works.
	h.take(h.txn.Load(h.now, &Metadata{ProducerID: 60, ProducerEpoch: 32766, LastProducerID: -1, LastProducerEpoch: -1,
		Timeout: time.Minute, State: Ongoing, Partitions: []Partition{pIn}, StartTimestamp: h.now.UnixMilli(), LastUpdateTimestamp: h.now.UnixMilli()}))
	wantCode(t, h.init(-1, -1).Err, CONCURRENT)
	if md := h.txn.Metadata(); md.ProducerEpoch != 32767 || md.State != PrepareAbort {
		t.Fatalf("fence at the last epoch %+v", md)
	}
	h.writeMarkers()
	r4 := h.init(-1, -1)
	if r4.Err != nil || r4.ProducerID == 60 || r4.ProducerEpoch != 0 {
		t.Fatalf("after fence at the last epoch %+v", r4)
	}
}

func TestTxnLoadFinishesDecidedTransaction(t *testing.T) {
	for _, commit := range []bool{true, false} {
		h := newHarness(t, DefaultConfig())
		state := PrepareAbort
		if commit {
			state = PrepareCommit
		}
		md := &Metadata{ProducerID: 7, ProducerEpoch: 2, LastProducerID: -1, LastProducerEpoch: -1, Timeout: time.Minute,
			State: state, Partitions: []Partition{pIn, pOut}, StartTimestamp: t0.UnixMilli(), LastUpdateTimestamp: t0.UnixMilli()}
		fx := h.take(h.txn.Load(h.now, md))
		want := &Markers{ProducerID: 7, ProducerEpoch: 2, Commit: commit, Partitions: []Partition{pIn, pOut}}
		if !reflect.DeepEqual(fx.Markers, want) {
			t.Fatalf("load %s: markers %+v", state, fx.Markers)
		}
		// The client's retry of its EndTxn waits, then succeeds.
		wantCode(t, h.end(7, 2, commit), CONCURRENT)
		h.writeMarkers()
		wantCode(t, h.end(7, 2, commit), NONE)
	}

	// Loading an open transaction resumes its timeout; loading nothing or
	// a tombstone gives no state.
	h := newHarness(t, DefaultConfig())
	fx := h.take(h.txn.Load(h.now, &Metadata{ProducerID: 7, ProducerEpoch: 2, LastProducerID: -1, LastProducerEpoch: -1, Timeout: time.Minute,
		State: Ongoing, Partitions: []Partition{pIn}, StartTimestamp: t0.UnixMilli(), LastUpdateTimestamp: t0.UnixMilli()}))
	if fx.Markers != nil || fx.Deadline != t0.Add(time.Minute) {
		t.Fatalf("load ongoing %+v", fx)
	}
	if fx := h.txn.Load(h.now, nil); h.txn.Metadata() != nil || fx.Deadline != (time.Time{}) {
		t.Fatal("load nil")
	}
	h.txn.Load(h.now, &Metadata{State: Dead})
	if h.txn.Metadata() != nil {
		t.Fatal("load dead")
	}
}

func TestTxnTransitionsMatchKafka(t *testing.T) {
	// Kafka's TransactionState.validPreviousStates, as a table.
	allowed := map[[2]State]bool{}
	for to, froms := range map[State][]State{
		Empty: {Empty, CompleteCommit, CompleteAbort}, Ongoing: {Ongoing, Empty, CompleteCommit, CompleteAbort},
		PrepareCommit: {Ongoing}, PrepareAbort: {Ongoing, PrepareEpochFence}, CompleteCommit: {PrepareCommit},
		CompleteAbort: {PrepareAbort}, Dead: {Empty, CompleteCommit, CompleteAbort}, PrepareEpochFence: {Ongoing},
	} {
		for _, from := range froms {
			allowed[[2]State{from, to}] = true
		}
	}
	for _, from := range States() {
		for _, to := range States() {
			if CanTransition(from, to) != allowed[[2]State{from, to}] {
				t.Fatalf("%s → %s: %v", from, to, CanTransition(from, to))
			}
		}
	}
	if _, err := New("x", Config{}); err == nil {
		t.Fatal("zero config accepted")
	}
}
