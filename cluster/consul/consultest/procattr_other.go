//go:build !linux

package consultest

import "syscall"

// procAttr runs the agent with default attributes; only Linux can tie the
// agent's life to the test process.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{}
}
