package transport

import "testing"

func TestPoolSizes(t *testing.T) {
	p := NewPool()
	for _, n := range []int{0, 1, 511, 512, 513, 16 << 10, 1<<20 + 7, 4 << 20} {
		b := p.Get(n)
		if len(*b) != n {
			t.Fatalf("Get(%d): len %d", n, len(*b))
		}
		c := cap(*b)
		if c < n || c&(c-1) != 0 || (n > 512 && c >= 2*n) {
			t.Fatalf("Get(%d): cap %d, want the power of two at or above max(n, 512)", n, c)
		}
		p.Put(b)
	}
	huge := p.Get(1<<pow2PoolMaxShift + 1)
	if len(*huge) != 1<<pow2PoolMaxShift+1 {
		t.Fatalf("unpooled Get: len %d", len(*huge))
	}
	p.Put(huge) // dropped, not pooled
	odd := make([]byte, 1000)
	p.Put(&odd) // not a power of two: dropped
	if b := p.Get(1000); cap(*b) != 1024 {
		t.Fatalf("Get(1000) after a foreign Put: cap %d, want 1024", cap(*b))
	}
}
