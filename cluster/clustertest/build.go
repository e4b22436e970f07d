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

var cli struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// BuildCLI builds cmd/sluice once per test binary, next to sluiced, and
// returns the path of the binary.
func BuildCLI(t testing.TB) string {
	t.Helper()
	dir := BuildBinaries(t)
	cli.once.Do(func() {
		cli.path = filepath.Join(dir, "sluice")
		cmd := exec.Command("go", "build", "-o", cli.path, "github.com/sluice-mq/sluice/cmd/sluice")
		cli.out, cli.err = cmd.CombinedOutput()
	})
	if cli.err != nil {
		t.Fatalf("clustertest: build sluice: %v\n%s", cli.err, cli.out)
	}
	return cli.path
}
