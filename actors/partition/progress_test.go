package partition

import "testing"

func TestProgressAdvance(t *testing.T) {
	type step struct {
		appendEnd   int64 // > 0: an append ending here
		appendBytes int
		advanceTo   int64 // > 0: advance the high watermark
		wantMoved   bool
		wantHW      int64
		wantBytes   int64 // committedBytes after the step
	}
	tests := []struct {
		name  string
		start int64
		steps []step
	}{
		// A single node with the never/always policies commits each append
		// at once.
		{"commit each append", 0, []step{
			{appendEnd: 3, appendBytes: 100, wantHW: 0, wantBytes: 0},
			{advanceTo: 3, wantMoved: true, wantHW: 3, wantBytes: 100},
			{appendEnd: 5, appendBytes: 50, wantHW: 3, wantBytes: 100},
			{advanceTo: 5, wantMoved: true, wantHW: 5, wantBytes: 150},
		}},
		// Group commit: several appends become durable together.
		{"group commit", 10, []step{
			{appendEnd: 12, appendBytes: 10, wantHW: 10},
			{appendEnd: 15, appendBytes: 20, wantHW: 10},
			{appendEnd: 16, appendBytes: 30, wantHW: 10},
			{advanceTo: 15, wantMoved: true, wantHW: 15, wantBytes: 30},
			{advanceTo: 16, wantMoved: true, wantHW: 16, wantBytes: 60},
		}},
		// A high watermark inside an append leaves its bytes uncommitted.
		{"straddling append", 0, []step{
			{appendEnd: 10, appendBytes: 100},
			{advanceTo: 5, wantMoved: true, wantHW: 5, wantBytes: 0},
			{advanceTo: 10, wantMoved: true, wantHW: 10, wantBytes: 100},
		}},
		// The high watermark never goes back.
		{"no regress", 7, []step{
			{advanceTo: 7, wantMoved: false, wantHW: 7},
			{advanceTo: 3, wantMoved: false, wantHW: 7},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProgress(tt.start)
			for i, s := range tt.steps {
				if s.appendEnd > 0 {
					p.appended(s.appendEnd, s.appendBytes)
				}
				if s.advanceTo > 0 {
					if moved := p.advance(s.advanceTo); moved != s.wantMoved {
						t.Fatalf("step %d: moved %v, want %v", i, moved, s.wantMoved)
					}
				}
				if p.hw != s.wantHW && (s.advanceTo > 0 || s.wantHW != 0) {
					t.Fatalf("step %d: hw %d, want %d", i, p.hw, s.wantHW)
				}
				if p.committedBytes != s.wantBytes {
					t.Fatalf("step %d: committed bytes %d, want %d", i, p.committedBytes, s.wantBytes)
				}
			}
		})
	}
}

func TestProgressResetCommitsKnownBytes(t *testing.T) {
	p := newProgress(0)
	p.appended(5, 40)
	p.reset(5)
	if p.hw != 5 || p.committedBytes != 40 || len(p.marks) != 0 {
		t.Fatalf("after reset: %+v", p)
	}
	p.appended(9, 10)
	p.advance(9)
	if p.committedBytes != 50 {
		t.Fatalf("committed bytes %d, want 50", p.committedBytes)
	}
}
