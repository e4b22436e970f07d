package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// quickStartBlocks returns the shell lines of each ```sh block in the
// README's "Quick start" section, comments and blank lines left out.
func quickStartBlocks(t *testing.T) [][]string {
	t.Helper()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Quick start\n")
	if !ok {
		t.Fatal(`README.md has no "## Quick start" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var blocks [][]string
	var block []string
	in := false
	for _, line := range strings.Split(section, "\n") {
		switch {
		case !in && strings.TrimSpace(line) == "```sh":
			in, block = true, nil
		case in && strings.TrimSpace(line) == "```":
			in = false
			blocks = append(blocks, block)
		case in:
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
				block = append(block, l)
			}
		}
	}
	return blocks
}

var (
	producePipe = regexp.MustCompile(`^(.+)\|\s*\./bin/sluice produce `)
	// kcatLine is a kcat command against the Kafka listener's default
	// address, which the test replaces with its node's.
	kcatLine    = regexp.MustCompile(`^kcat -b 127\.0\.0\.1:9092 `)
	maxMessages = regexp.MustCompile(`--max-messages[ =](\d+)`)
)

// TestReadmeQuickStart runs the README's quick start verbatim, with a
// clustertest node in place of `make run` and ./bin/sluice pointed at it
// through SLUICE_BROKERS: every command must succeed and consume must
// print what produce read.
func TestReadmeQuickStart(t *testing.T) {
	blocks := quickStartBlocks(t)
	if len(blocks) != 2 || !slices.Equal(blocks[0], []string{"make run"}) {
		t.Fatalf("quick start: want a block with `make run`, then the commands; got %q", blocks)
	}
	commands := blocks[1]

	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(sluiceBinary(t), filepath.Join(dir, "bin", "sluice")); err != nil {
		t.Fatal(err)
	}
	sh := func(line string) string {
		t.Helper()
		cmd := exec.CommandContext(testCtx(t), "sh", "-c", line)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "SLUICE_BROKERS="+c.Addr(0))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", line, err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	lines := func(out string) []string {
		if out = strings.TrimRight(out, "\n"); out == "" {
			return nil
		}
		return strings.Split(out, "\n")
	}

	var produced []string
	consumed := false
	for _, line := range commands {
		if kcatLine.MatchString(line) {
			if _, err := exec.LookPath("kcat"); err != nil {
				t.Fatalf("kcat is not installed (make kcat installs it): %v", err)
			}
			line = kcatLine.ReplaceAllString(line, "kcat -b "+c.Kafka(0)+" ")
			if !strings.Contains(line, " -C ") || !strings.Contains(line, " -e") {
				t.Fatalf("quick start kcat line %q should consume (-C) and exit at the end (-e)", line)
			}
			consumed = true
			checkConsumed(t, line, lines(sh(line)), produced, len(produced))
			continue
		}
		if !strings.HasPrefix(line, "./bin/sluice ") && !producePipe.MatchString(line) {
			t.Fatalf("quick start line %q does not run ./bin/sluice", line)
		}
		if strings.Contains(line, "--brokers") {
			t.Fatalf("quick start line %q names brokers: the default must do", line)
		}
		out := sh(line)
		switch {
		case producePipe.MatchString(line):
			produced = append(produced, lines(sh(producePipe.FindStringSubmatch(line)[1]))...)
		case strings.HasPrefix(line, "./bin/sluice consume "):
			consumed = true
			want := len(produced)
			if m := maxMessages.FindStringSubmatch(line); m != nil {
				n, _ := strconv.Atoi(m[1])
				want = min(n, want)
			}
			checkConsumed(t, line, lines(out), produced, want)
		}
	}
	if len(produced) == 0 || !consumed {
		t.Fatalf("the quick start should produce and consume records: %q", commands)
	}
}

// checkConsumed fails unless got is want records of produced, each at
// most as often as it was produced.
func checkConsumed(t *testing.T, line string, got, produced []string, want int) {
	t.Helper()
	left := slices.Clone(produced)
	for _, g := range got {
		i := slices.Index(left, g)
		if i < 0 {
			t.Fatalf("%s printed %q, not produced (produced %q)", line, g, produced)
		}
		left = slices.Delete(left, i, i+1)
	}
	if want == 0 || len(got) != want {
		t.Fatalf("%s printed %d records %q, want %d of the produced %q", line, len(got), got, want, produced)
	}
}
