package epochcache

import (
	"errors"
	"reflect"
	"testing"
)

func mustCache(t *testing.T, entries ...Entry) *Cache {
	t.Helper()
	c, err := FromEntries(entries)
	if err != nil {
		t.Fatalf("FromEntries(%v): %v", entries, err)
	}
	return c
}

func TestCacheAssign(t *testing.T) {
	type step struct {
		epoch   int32
		start   int64
		wantErr error
	}
	cases := []struct {
		name  string
		steps []step
		want  []Entry
	}{
		// Building up history.
		{"first", []step{{0, 0, nil}}, []Entry{{0, 0}}},
		{"first at non-zero offset", []step{{3, 100, nil}}, []Entry{{3, 100}}},
		{"increasing", []step{{0, 0, nil}, {1, 5, nil}, {4, 9, nil}}, []Entry{{0, 0}, {1, 5}, {4, 9}}},
		// Every batch of an epoch re-assigns it: no-op.
		{"same epoch same offset", []step{{1, 5, nil}, {1, 5, nil}}, []Entry{{1, 5}}},
		{"same epoch later offset", []step{{1, 5, nil}, {1, 6, nil}, {1, 40, nil}}, []Entry{{1, 5}}},
		// An epoch that never got a record is replaced by the next one (Kafka).
		{"empty epoch replaced", []step{{0, 0, nil}, {1, 5, nil}, {2, 5, nil}}, []Entry{{0, 0}, {2, 5}}},
		// Going backwards is refused and leaves the cache unchanged.
		{"lower epoch", []step{{2, 5, nil}, {1, 9, ErrNonMonotonic}}, []Entry{{2, 5}}},
		{"same epoch earlier offset", []step{{2, 5, nil}, {2, 4, ErrNonMonotonic}}, []Entry{{2, 5}}},
		{"higher epoch earlier offset", []step{{2, 5, nil}, {3, 4, ErrNonMonotonic}}, []Entry{{2, 5}}},
		{"negative epoch", []step{{-1, 0, ErrInvalidEntry}}, nil},
		{"negative offset", []step{{0, -1, ErrInvalidEntry}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New()
			for i, s := range tc.steps {
				if err := c.Assign(s.epoch, s.start); !errors.Is(err, s.wantErr) {
					t.Fatalf("step %d Assign(%d, %d) = %v, want %v", i, s.epoch, s.start, err, s.wantErr)
				}
			}
			if got := c.Entries(); len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
				t.Fatalf("Entries = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCacheLatestEarliest(t *testing.T) {
	var c Cache // the zero value is usable
	if _, _, ok := c.Latest(); ok {
		t.Fatal("Latest on empty cache reported ok")
	}
	if _, _, ok := c.Earliest(); ok {
		t.Fatal("Earliest on empty cache reported ok")
	}
	for _, e := range []Entry{{1, 0}, {3, 10}, {4, 20}} {
		if err := c.Assign(e.Epoch, e.StartOffset); err != nil {
			t.Fatal(err)
		}
	}
	if e, s, ok := c.Latest(); !ok || e != 4 || s != 20 {
		t.Fatalf("Latest = %d, %d, %v; want 4, 20, true", e, s, ok)
	}
	if e, s, ok := c.Earliest(); !ok || e != 1 || s != 0 {
		t.Fatalf("Earliest = %d, %d, %v; want 1, 0, true", e, s, ok)
	}
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3", c.Len())
	}
	// Entries is a copy.
	c.Entries()[0].Epoch = 99
	if e, _, _ := c.Earliest(); e != 1 {
		t.Fatal("Entries aliases the cache")
	}
	c.Clear()
	if c.Len() != 0 {
		t.Fatal("Clear left entries")
	}
}

func TestCacheEndOffsetFor(t *testing.T) {
	// Epochs 1@0, 3@10, 5@20; log end offset 25.
	entries := []Entry{{1, 0}, {3, 10}, {5, 20}}
	const leo = 25
	cases := []struct {
		name      string
		requested int32
		wantEpoch int32
		wantEnd   int64
	}{
		// The latest epoch ends at the log end.
		{"latest", 5, 5, leo},
		// A known older epoch ends where the next one starts.
		{"first", 1, 1, 10},
		{"middle", 3, 3, 20},
		// An unknown epoch between known ones (KIP-279): the largest epoch
		// below it and the start of the first epoch above it.
		{"gap below latest", 4, 3, 20},
		{"gap in middle", 2, 1, 10},
		// Below every epoch: the leader deleted that history; the requested
		// epoch with the start of the earliest epoch (Kafka).
		{"below all", 0, 0, 0},
		// Unknown future epoch and the undefined epoch: UNDEFINED.
		{"above latest", 6, Undefined, Undefined},
		{"undefined", Undefined, Undefined, Undefined},
	}
	c := mustCache(t, entries...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			epoch, end := c.EndOffsetFor(tc.requested, leo)
			if epoch != tc.wantEpoch || end != tc.wantEnd {
				t.Fatalf("EndOffsetFor(%d, %d) = (%d, %d), want (%d, %d)",
					tc.requested, leo, epoch, end, tc.wantEpoch, tc.wantEnd)
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		if epoch, end := New().EndOffsetFor(0, 10); epoch != Undefined || end != Undefined {
			t.Fatalf("EndOffsetFor on empty cache = (%d, %d), want UNDEFINED", epoch, end)
		}
	})
	t.Run("below all at non-zero start", func(t *testing.T) {
		c := mustCache(t, Entry{4, 100}, Entry{6, 150})
		if epoch, end := c.EndOffsetFor(2, 170); epoch != 2 || end != 100 {
			t.Fatalf("EndOffsetFor(2) = (%d, %d), want (2, 100)", epoch, end)
		}
	})
}

func TestCacheEpochForOffset(t *testing.T) {
	c := mustCache(t, Entry{1, 5}, Entry{3, 10}, Entry{5, 20})
	cases := []struct {
		offset int64
		want   int32
		ok     bool
	}{
		{0, Undefined, false}, {4, Undefined, false},
		{5, 1, true}, {9, 1, true}, {10, 3, true}, {19, 3, true}, {20, 5, true}, {1000, 5, true},
	}
	for _, tc := range cases {
		if got, ok := c.EpochForOffset(tc.offset); got != tc.want || ok != tc.ok {
			t.Errorf("EpochForOffset(%d) = %d, %v; want %d, %v", tc.offset, got, ok, tc.want, tc.ok)
		}
	}
}

func TestCacheTruncateFromEnd(t *testing.T) {
	entries := []Entry{{1, 0}, {3, 10}, {5, 20}}
	cases := []struct {
		name string
		end  int64
		want []Entry
	}{
		{"beyond all", 100, entries},
		{"inside latest", 21, entries},
		{"at latest start", 20, entries[:2]},
		{"inside middle", 15, entries[:2]},
		{"at middle start", 10, entries[:1]},
		{"at first start", 0, nil},
		{"negative ignored", -1, entries},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCache(t, entries...)
			c.TruncateFromEnd(tc.end)
			assertEntries(t, c, tc.want)
		})
	}
}

func TestCacheTruncateFromStart(t *testing.T) {
	entries := []Entry{{1, 0}, {3, 10}, {5, 20}}
	cases := []struct {
		name  string
		start int64
		want  []Entry
	}{
		{"at first start", 0, entries},
		{"inside first", 5, []Entry{{1, 5}, {3, 10}, {5, 20}}},
		{"at middle start", 10, []Entry{{3, 10}, {5, 20}}},
		{"inside middle", 12, []Entry{{3, 12}, {5, 20}}},
		{"inside latest", 30, []Entry{{5, 30}}},
		{"negative ignored", -1, entries},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustCache(t, entries...)
			c.TruncateFromStart(tc.start)
			assertEntries(t, c, tc.want)
		})
	}
	t.Run("before first", func(t *testing.T) {
		c := mustCache(t, Entry{2, 50})
		c.TruncateFromStart(10)
		assertEntries(t, c, []Entry{{2, 50}})
	})
}

func TestCacheFromEntriesRejectsBadHistory(t *testing.T) {
	cases := map[string][]Entry{
		"negative epoch":       {{-1, 0}},
		"negative offset":      {{0, -5}},
		"epoch not increasing": {{1, 0}, {1, 5}},
		"epoch decreasing":     {{2, 0}, {1, 5}},
		"offset repeated":      {{1, 5}, {2, 5}},
		"offset decreasing":    {{1, 5}, {2, 4}},
	}
	for name, entries := range cases {
		if _, err := FromEntries(entries); err == nil {
			t.Errorf("%s: FromEntries(%v) succeeded", name, entries)
		}
	}
}

func assertEntries(t *testing.T, c *Cache, want []Entry) {
	t.Helper()
	got := c.Entries()
	if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
		t.Fatalf("Entries = %v, want %v", got, want)
	}
}
