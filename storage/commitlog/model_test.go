package commitlog

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/storage/batch"
)

// logModel is what a log must hold: every batch appended and not
// truncated, in order, the log start offset and the log end offset.
type logModel struct {
	batches  []stored
	logStart int64
	end      int64
}

func (m *logModel) leo() int64 { return m.end }

// truncate drops every batch whose last offset is >= offset; the log
// then ends where the first dropped batch began.
func (m *logModel) truncate(offset int64) {
	for len(m.batches) > 0 && m.batches[len(m.batches)-1].last >= offset {
		m.end = m.batches[len(m.batches)-1].first
		m.batches = m.batches[:len(m.batches)-1]
	}
	m.logStart = min(m.logStart, m.end)
}

// TestLogRandomOperations runs random leader and follower appends,
// truncations, rolls, log-start advances, retention, flushes, clean
// reopens and crashes against a model and checks after each step that
// reads return exactly the model's batches. (Raise the seed count to
// search harder.)
func TestLogRandomOperations(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		dir := t.TempDir()
		cfg := Config{SegmentBytes: 3_000, IndexIntervalBytes: 200}
		l := mustOpen(t, dir, cfg)
		m := &logModel{}
		for step := 0; step < 150; step++ {
			switch op := rng.IntN(20); {
			case op < 11: // leader append of 1-3 batches
				var data []byte
				var sizes []int
				for n := 1 + rng.IntN(3); n > 0; n-- {
					b := makeBatch(0, 1+rng.IntN(5), 20+rng.IntN(600), tsBase+int64(step))
					sizes = append(sizes, len(b))
					data = append(data, b...)
				}
				var info AppendInfo
				var err error
				if rng.IntN(2) == 0 {
					info, err = l.Append(data, int32(step/40))
				} else { // as a follower: offsets assigned by the leader
					next := m.leo()
					for rest := data; len(rest) > 0; {
						h, _ := batch.ParseHeader(rest)
						batch.SetBaseOffset(rest, next)
						next += int64(h.LastOffsetDelta) + 1
						rest = rest[h.Size():]
					}
					info, err = l.AppendReplicated(data)
				}
				if err != nil {
					t.Fatalf("seed %d step %d: append: %v", seed, step, err)
				}
				if info.FirstOffset != m.leo() {
					t.Fatalf("seed %d step %d: appended at %d, model LEO %d", seed, step, info.FirstOffset, m.leo())
				}
				for _, n := range sizes {
					h, _ := batch.ParseHeader(data)
					m.batches = append(m.batches, stored{first: h.BaseOffset, last: h.LastOffset(), bytes: append([]byte(nil), data[:n]...)})
					m.end = h.NextOffset()
					data = data[n:]
				}
			case op < 13: // follower-style truncation
				if m.leo() > m.logStart {
					off := m.logStart + rng.Int64N(m.leo()-m.logStart+1)
					if err := l.TruncateTo(off); err != nil {
						t.Fatalf("seed %d step %d: TruncateTo(%d): %v", seed, step, off, err)
					}
					m.truncate(off)
				}
			case op < 14:
				if err := l.Roll(); err != nil {
					t.Fatal(err)
				}
			case op < 15: // advance the log start
				l.SetHighWatermark(l.LogEndOffset())
				if m.leo() > m.logStart {
					off := m.logStart + rng.Int64N(m.leo()-m.logStart+1)
					if _, err := l.DeleteRecordsBefore(off); err != nil {
						t.Fatalf("seed %d step %d: DeleteRecordsBefore(%d): %v", seed, step, off, err)
					}
					m.logStart = off
				}
			case op < 16:
				if err := l.Flush(); err != nil {
					t.Fatal(err)
				}
			case op < 17: // time retention: every closed segment below the HW is old
				l.SetHighWatermark(l.LogEndOffset())
				if _, err := l.EnforceRetention(time.UnixMilli(tsBase).Add(30 * 24 * time.Hour)); err != nil {
					t.Fatal(err)
				}
				start := l.LogStartOffset()
				if start < m.logStart || (start != m.logStart && start != m.leo() && !startsBatch(m, start)) {
					t.Fatalf("seed %d step %d: retention moved log start from %d to %d", seed, step, m.logStart, start)
				}
				m.logStart = start
			case op < 18: // clean reopen
				if err := l.Close(); err != nil {
					t.Fatal(err)
				}
				l = mustOpen(t, dir, cfg)
			default: // crash and recover
				crash(t, l)
				l = mustOpen(t, dir, cfg)
			}
			checkModel(t, l, m, rng)
		}
	}
}

// startsBatch reports whether a batch of the model begins at offset.
func startsBatch(m *logModel, offset int64) bool {
	for _, s := range m.batches {
		if s.first == offset {
			return true
		}
	}
	return false
}

func checkModel(t *testing.T, l *Log, m *logModel, rng *rand.Rand) {
	t.Helper()
	if l.LogEndOffset() != m.leo() || l.LogStartOffset() != m.logStart {
		t.Fatalf("log [%d, %d), model [%d, %d)", l.LogStartOffset(), l.LogEndOffset(), m.logStart, m.leo())
	}
	var visible []stored
	for _, s := range m.batches {
		if s.last >= m.logStart {
			visible = append(visible, s)
		}
	}
	// A few random offsets, then the whole log in small reads.
	for i := 0; i < 5 && len(visible) > 0; i++ {
		s := visible[rng.IntN(len(visible))]
		off := max(s.first+rng.Int64N(s.last-s.first+1), m.logStart)
		got, err := l.Read(off, 1, 1<<62)
		if err != nil || string(got) != string(s.bytes) {
			t.Fatalf("Read(%d): %d bytes, %v; want batch %d", off, len(got), err, s.first)
		}
	}
	hs := readAll(t, l, m.logStart, 1500)
	if len(hs) != len(visible) {
		t.Fatalf("readAll: %d batches, model %d", len(hs), len(visible))
	}
	for i, h := range hs {
		if h.BaseOffset != visible[i].first || h.LastOffset() != visible[i].last {
			t.Fatalf("batch %d: %d-%d, model %d-%d", i, h.BaseOffset, h.LastOffset(), visible[i].first, visible[i].last)
		}
	}
}
