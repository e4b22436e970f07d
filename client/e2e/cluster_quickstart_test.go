package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/cluster/consul/consultest"
	"github.com/sluice-mq/sluice/internal/testport"
)

// docSection returns the ```sh blocks of the section of doc under heading.
func docSection(t *testing.T, doc, heading string) [][]string {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("..", "..", doc))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(text), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("%s has no %q section", doc, heading)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var blocks [][]string
	var block []string
	in := false
	for _, line := range strings.Split(section, "\n") {
		switch l := strings.TrimSpace(line); {
		case !in && l == "```sh":
			in, block = true, nil
		case in && l == "```":
			in = false
			blocks = append(blocks, block)
		case in && l != "" && !strings.HasPrefix(l, "#"):
			block = append(block, l)
		}
	}
	return blocks
}

// docPorts finds the ports a script names: host:port addresses and
// Consul's -xxx-port flags (not -1).
var docPorts = regexp.MustCompile(`127\.0\.0\.1:(\d+)|-[a-z-]+-port (\d+)`)

// freePort returns a loopback port reserved for this test process
// (testport), free for TCP and UDP (Consul's Serf ports need both).
func freePort(t *testing.T) int {
	t.Helper()
	port, err := testport.Take(testport.TCPAndUDP)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// TestClusterQuickStart runs the three-node quick start of docs/CLUSTER.md
// as written, in a temporary directory holding bin/ with the binaries,
// with every port it names moved to a free one (so that it cannot meet
// another test's): the nodes come up, the topic takes 1000 records
// acks=all and consume -e reads all of them back.
func TestClusterQuickStart(t *testing.T) {
	blocks := docSection(t, "docs/CLUSTER.md", "## Quick start: three nodes on one machine")
	if len(blocks) != 2 || len(blocks[0]) != 1 || blocks[0][0] != "make build consul" {
		t.Fatalf("quick start: want a `make build consul` block, then the commands; got %q", blocks)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("the quick start uses curl (make curl installs it): %v", err)
	}
	script := strings.Join(blocks[1], "\n")

	moved := map[string]string{}
	for _, m := range docPorts.FindAllStringSubmatch(script, -1) {
		port := m[1] + m[2]
		if _, ok := moved[port]; !ok {
			moved[port] = strconv.Itoa(freePort(t))
		}
	}
	if len(moved) < 10 {
		t.Fatalf("quick start names %d ports %v, want Consul's four and three per node", len(moved), moved)
	}
	script = regexp.MustCompile(`\b\d{4,5}\b`).ReplaceAllStringFunc(script, func(n string) string {
		if p, ok := moved[n]; ok {
			return p
		}
		return n
	})

	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	consul, err := consultest.Binary()
	if err != nil {
		t.Fatalf("consul: %v (make consul builds it)", err)
	}
	for name, path := range map[string]string{
		"sluice":  sluiceBinary(t),
		"sluiced": filepath.Join(clustertest.BuildBinaries(t), "sluiced"),
		"consul":  consul,
	} {
		if err := os.Symlink(path, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.CommandContext(testCtx(t), "bash", "-e", "-c", script)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // the background agent and nodes
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	t.Cleanup(func() {
		if cmd.Process != nil {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	if err := cmd.Run(); err != nil {
		for _, log := range []string{"consul.log", "node1.log", "node2.log", "node3.log"} {
			b, _ := os.ReadFile(filepath.Join(dir, log))
			t.Logf("--- %s:\n%s", log, b)
		}
		t.Fatalf("quick start: %v\nscript:\n%s\nstdout: %s\nstderr: %s", err, script, stdout.String(), stderr.String())
	}
	out := stdout.String()
	lines := strings.Split(out, "\n")
	if !strings.Contains(out, "\n1000\n") && (len(lines) == 0 || strings.TrimSpace(lines[0]) != "1000") {
		t.Fatalf("consume -e | wc -l did not print 1000:\n%s", out)
	}
	if up := strings.Count(out, " up "); up != 3 {
		t.Fatalf("cluster status shows %d nodes up, want 3:\n%s", up, out)
	}
	if !strings.Contains(out, "orders") || strings.Contains(out, "under-replicated") {
		t.Fatalf("cluster status should list orders with every replica in sync:\n%s", out)
	}
}
