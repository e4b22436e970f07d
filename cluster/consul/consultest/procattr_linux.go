package consultest

import "syscall"

// procAttr puts the agent in its own process group (a terminal's ^C
// reaches the test, which stops the agent) and has the kernel kill it if
// the test process dies without cleaning up (a timeout panic, a kill).
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
