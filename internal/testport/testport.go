package testport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// ErrNoPort is returned when no port could be reserved.
var ErrNoPort = errors.New("testport: no free loopback port")

// Kind says which protocols the port must be free for.
type Kind int

const (
	// TCP: a TCP listener (sluiced's remote, HTTP and Kafka listeners).
	TCP Kind = iota
	// TCPAndUDP: both (Consul's Serf ports).
	TCPAndUDP
)

// minWindow is the fewest ports a range outside the ephemeral one must
// hold to be used; below it Take falls back to ports the kernel picks.
const minWindow = 2000

var (
	mu sync.Mutex
	// held are the ports this process reserved, with their lock files,
	// kept open (the lock ends when the process does).
	held = map[int]*os.File{}
	// lo and hi bound the ports handed out; found once.
	window struct {
		once   sync.Once
		lo, hi int
	}
)

// Take reserves a loopback port free for kind now and returns it.
func Take(kind Kind) (int, error) {
	mu.Lock()
	defer mu.Unlock()
	window.once.Do(func() { window.lo, window.hi = portWindow() })
	if window.hi-window.lo < minWindow {
		return kernelPort(kind)
	}
	dir := filepath.Join(os.TempDir(), "sluice-test-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrNoPort, err)
	}
	for range 200 {
		port := window.lo + rand.IntN(window.hi-window.lo+1)
		if _, mine := held[port]; mine {
			continue
		}
		lock, err := reserve(dir, port)
		if err != nil {
			continue // another process holds it
		}
		if !free(port, kind) {
			_ = lock.Close()
			continue
		}
		held[port] = lock
		return port, nil
	}
	return 0, fmt.Errorf("%w in %d-%d after 200 tries", ErrNoPort, window.lo, window.hi)
}

// Addr is Take(TCP) as a 127.0.0.1 host:port.
func Addr() (string, error) {
	port, err := Take(TCP)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// reserve takes the exclusive lock on port's file in dir.
func reserve(dir string, port int) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)+".lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// free reports whether port can be listened on now.
func free(port int, kind Kind) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	defer l.Close()
	if kind == TCPAndUDP {
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			return false
		}
		_ = u.Close()
	}
	return true
}

// kernelPort is the fallback: a port the kernel picks, not handed out
// before by this process.
func kernelPort(kind Kind) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("%w: %v", ErrNoPort, err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if _, mine := held[port]; mine || !free(port, kind) {
			continue
		}
		held[port] = nil
		return port, nil
	}
	return 0, ErrNoPort
}

// portWindow is the larger of the port ranges below and above the
// kernel's ephemeral range, within 10000-65535.
func portWindow() (lo, hi int) {
	eLo, eHi := 32768, 60999 // Linux's default
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			a, errA := strconv.Atoi(f[0])
			z, errZ := strconv.Atoi(f[1])
			if errA == nil && errZ == nil && a <= z {
				eLo, eHi = a, z
			}
		}
	}
	belowLo, belowHi := 10000, eLo-1
	aboveLo, aboveHi := eHi+1, 65535
	if belowHi-belowLo >= aboveHi-aboveLo {
		return belowLo, belowHi
	}
	return aboveLo, aboveHi
}
