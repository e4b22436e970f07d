//go:build unix

package consultest

import (
	"os"
	"syscall"
)

// Pause freezes the agent (SIGSTOP): its ports stay open but nothing
// answers, so clients run into their timeouts. Resume, Stop, Kill and
// Restart all work on a paused agent.
func (a *Agent) Pause() {
	a.t.Helper()
	a.signal(syscall.SIGSTOP)
	// The stop takes effect asynchronously; an agent thread that is
	// running may still answer a request or two.
	if err := waitStopped(a.cmd.Process.Pid); err != nil {
		a.t.Fatalf("consultest: pause: %v", err)
	}
}

// Resume continues a paused agent (SIGCONT).
func (a *Agent) Resume() {
	a.t.Helper()
	a.signal(syscall.SIGCONT)
}

func (a *Agent) signal(sig os.Signal) {
	a.t.Helper()
	if a.exited == nil {
		a.t.Fatalf("consultest: signal %v: agent not running", sig)
	}
	if err := a.cmd.Process.Signal(sig); err != nil {
		a.t.Fatalf("consultest: signal %v: %v", sig, err)
	}
}

// wake lets a paused agent handle the signals that stop it.
func (a *Agent) wake() {
	_ = a.cmd.Process.Signal(syscall.SIGCONT) // it may have exited already
}
