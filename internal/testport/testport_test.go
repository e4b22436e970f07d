package testport

import (
	"net"
	"path/filepath"
	"strconv"
	"testing"
)

// TestTakeReservesDistinctFreePorts: ports are distinct, outside the
// ephemeral range, listenable, and locked against other takers.
func TestTakeReservesDistinctFreePorts(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		port, err := Take(TCPAndUDP)
		if err != nil {
			t.Fatal(err)
		}
		if seen[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		seen[port] = true
		if window.hi-window.lo >= minWindow && (port < window.lo || port > window.hi) {
			t.Fatalf("port %d outside %d-%d", port, window.lo, window.hi)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Fatalf("port %d: %v", port, err)
		}
		_ = l.Close()
		if held[port] != nil {
			// Another process (here: another lock on the same file)
			// cannot reserve it.
			if f, err := reserve(filepath.Dir(held[port].Name()), port); err == nil {
				_ = f.Close()
				t.Fatalf("port %d reserved twice", port)
			}
		}
	}
}

func TestPortWindowAvoidsTheEphemeralRange(t *testing.T) {
	lo, hi := portWindow()
	if lo < 1024 || hi > 65535 || lo > hi {
		t.Fatalf("window %d-%d", lo, hi)
	}
}
