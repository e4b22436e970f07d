package partition

import (
	"slices"
	"testing"
)

func TestAllAckListOrderAndDurability(t *testing.T) {
	var l allAckList[string]
	a := l.push(4, "a")
	b := l.push(9, "b")
	c := l.push(12, "c")
	if a == 0 || a == b || b == c {
		t.Fatalf("ids %d %d %d", a, b, c)
	}
	steps := []struct {
		name    string
		do      func() []string
		want    []string
		wantLen int
	}{
		{"nothing completed", func() []string { return l.ready(100) }, nil, 3},
		{"b completes, a still waits", func() []string { l.complete(b, false); return l.ready(100) }, nil, 3},
		{"a completes, not durable", func() []string { l.complete(a, false); return l.ready(4) }, nil, 3},
		{"durable past a and b", func() []string { return l.ready(10) }, []string{"a", "b"}, 1},
		{"c fails", func() []string {
			v, ok := l.complete(c, true)
			if !ok {
				return nil
			}
			return []string{v}
		}, []string{"c"}, 0},
		{"unknown id", func() []string {
			if _, ok := l.complete(c, true); ok {
				return []string{"again"}
			}
			return nil
		}, nil, 0},
	}
	for _, s := range steps {
		if got := s.do(); !slices.Equal(got, s.want) {
			t.Fatalf("%s: got %v, want %v", s.name, got, s.want)
		}
		if l.len() != s.wantLen {
			t.Fatalf("%s: %d left, want %d", s.name, l.len(), s.wantLen)
		}
	}
}

func TestAllAckListThroughAndDrain(t *testing.T) {
	var l allAckList[int]
	for i, last := range []int64{1, 5, 5, 8} {
		l.push(last, i)
	}
	if got := l.through(5); !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("through(5) = %v", got)
	}
	if got := l.drain(); !slices.Equal(got, []int{3}) || l.len() != 0 {
		t.Fatalf("drain = %v, %d left", got, l.len())
	}
}
