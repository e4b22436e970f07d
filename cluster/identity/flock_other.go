//go:build !unix

package identity

import "os"

// flock is a no-op where advisory locks are not available.
func flock(*os.File) error { return nil }
