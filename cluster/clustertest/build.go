package clustertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var build struct {
	once sync.Once
	dir  string
	err  error
	out  []byte
}

// BuildBinaries builds cmd/sluiced once per test binary and returns the
// directory holding it. Main removes the directory after the tests.
func BuildBinaries(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "sluice-bin-")
		if build.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(build.dir, "sluiced"), "github.com/sluice-mq/sluice/cmd/sluiced")
		build.out, build.err = cmd.CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("clustertest: build sluiced: %v\n%s", build.err, build.out)
	}
	return build.dir
}

// Main runs the tests and removes what the package created for the whole
// test binary (the built binaries), then exits with the tests' code.
func Main(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
	os.Exit(code)
}
