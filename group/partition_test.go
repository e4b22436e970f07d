package group

import "testing"

func TestOffsetsPartitionMatchesJava(t *testing.T) {
	// Values printed by Java: s.hashCode() and Utils.abs(h) % 50.
	for _, tc := range []struct {
		group string
		hash  int32
		p50   int32
	}{
		{"my-group", -1906497762, 12},
		{"héllo", 103094734, 34},
		{"😀", 1772899, 49}, // a surrogate pair: 0xD83D, 0xDE00
		{"console-consumer-12345", 158455506, 6},
		{"hello", 99162322, 22},
		{"polygenelubricants", -2147483648, 0}, // Integer.MIN_VALUE: abs is 0
		{"orders-app", 772757305, 5},
		{"", 0, 0},
	} {
		if got := javaStringHash(tc.group); got != tc.hash {
			t.Errorf("javaStringHash(%q) = %d, want %d", tc.group, got, tc.hash)
		}
		if got := OffsetsPartition(tc.group, 50); got != tc.p50 {
			t.Errorf("OffsetsPartition(%q, 50) = %d, want %d", tc.group, got, tc.p50)
		}
	}
}
