package consultest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Environment variables read by this package.
const (
	// EnvBinary names the consul binary to use, overriding the search.
	EnvBinary = "SLUICE_CONSUL_BIN"
	// EnvRequire set to 1 turns a missing binary from a skip into a
	// failure (make test sets it).
	EnvRequire = "SLUICE_REQUIRE_CONSUL"
)

// ErrNoBinary means no consul binary was found.
var ErrNoBinary = errors.New("consultest: consul binary not found (run `make consul`)")

// Binary finds the consul binary, in order: $SLUICE_CONSUL_BIN, bin/consul
// at the module root (found by walking up from the working directory to
// go.mod), consul on PATH, then $HOME/.cache/sluice/bin/consul (where
// `make consul` builds it).
func Binary() (string, error) {
	if path := os.Getenv(EnvBinary); path != "" {
		if isExecutable(path) {
			return path, nil
		}
		return "", fmt.Errorf("%w: %s=%s is not an executable file", ErrNoBinary, EnvBinary, path)
	}
	if root, ok := moduleRoot(); ok {
		if path := filepath.Join(root, "bin", "consul"); isExecutable(path) {
			return path, nil
		}
	}
	if path, err := exec.LookPath("consul"); err == nil {
		return path, nil
	}
	if home, err := os.UserHomeDir(); err == nil {
		if path := filepath.Join(home, ".cache", "sluice", "bin", "consul"); isExecutable(path) {
			return path, nil
		}
	}
	return "", ErrNoBinary
}

// moduleRoot walks up from the working directory to the directory holding
// go.mod.
func moduleRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func isExecutable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode().Perm()&0o111 != 0
}
