//go:build !unix

package consultest

// wake does nothing: agents cannot be paused here.
func (a *Agent) wake() {}
