//go:build unix

package clustertest

import "syscall"

// Pause stops node i's process with SIGSTOP: it keeps its sockets and
// state but answers nothing, like a node in a long GC pause or a hung VM.
// Its Consul check stops being refreshed, so the cluster soon considers it
// gone. Resume continues it.
func (c *Cluster) Pause(i int) {
	c.t.Helper()
	n := c.nodes[i]
	if !n.running() {
		c.t.Fatalf("clustertest: pause node %d: not running", n.ID)
	}
	if err := n.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		c.t.Fatalf("clustertest: pause node %d: %v", n.ID, err)
	}
	n.paused = true
}

// Resume continues node i after Pause with SIGCONT.
func (c *Cluster) Resume(i int) {
	c.t.Helper()
	n := c.nodes[i]
	if !n.running() {
		return
	}
	if err := n.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		c.t.Fatalf("clustertest: resume node %d: %v", n.ID, err)
	}
	n.paused = false
}

// Running reports whether node i's process is alive (paused counts).
func (c *Cluster) Running(i int) bool { return c.nodes[i].running() }

// resume continues a paused process so that it can handle SIGTERM.
func (n *Node) resume() {
	if n.paused {
		_ = n.cmd.Process.Signal(syscall.SIGCONT)
		n.paused = false
	}
}
