package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// consoleMember is a `sluice consume --group` process printing to a file.
type consoleMember struct {
	cmd  *exec.Cmd
	out  string
	done chan error
}

func startConsole(t *testing.T, c *clustertest.Cluster, topic, group string, i int) *consoleMember {
	t.Helper()
	out := filepath.Join(t.TempDir(), fmt.Sprintf("member%d.out", i))
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sluiceBinary(t), "--brokers", c.Addr(0), "consume", topic, "--group", group, "--from-beginning")
	cmd.Stdout = f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close() // the child holds its own descriptor
	m := &consoleMember{cmd: cmd, out: out, done: make(chan error, 1)}
	go func() { m.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-m.done
	})
	return m
}

// printed returns the complete lines the process wrote so far.
func (m *consoleMember) printed(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(m.out)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	} else {
		return nil
	}
	return strings.Split(s, "\n")
}

// stop interrupts the process and waits for it to commit, leave and exit.
func (m *consoleMember) stop(t *testing.T) {
	t.Helper()
	if err := m.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-m.done:
		m.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("console member after interrupt: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("console member did not stop after an interrupt")
	}
}

// TestGroupE2EKilledMemberPartitionsMove SIGKILLs one of three console
// consumers: after its session expires, its partitions move to the
// survivors, which resume from its last commit. Every record is printed,
// and only records the killed process printed are printed twice.
func TestGroupE2EKilledMemberPartitionsMove(t *testing.T) {
	const topic, partitions = "payments", 9
	c := clustertest.Start(t, 1)
	cl := newClient(t, c)
	if _, err := cl.CreateTopic(testCtx(t), topic, partitions, 1, nil); err != nil {
		t.Fatal(err)
	}
	produced := map[string]bool{}
	produceRecorded := func(n int) {
		call := batches.Load() + 1
		produce(t, cl, topic, partitions, n)
		for p := range int32(partitions) {
			for i := range n {
				produced[fmt.Sprintf("%s/%d/p%d-%d", topic, call, p, i)] = true
			}
		}
	}
	produceRecorded(300)

	members := []*consoleMember{}
	for i := range 3 {
		members = append(members, startConsole(t, c, topic, "ledger", i))
	}
	// All three print something; records keep coming until they do.
	waitUntil(t, func() error {
		for i, m := range members {
			if len(m.printed(t)) == 0 {
				produceRecorded(2)
				return fmt.Errorf("member %d printed nothing", i)
			}
		}
		return nil
	})

	victim := members[0]
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err := <-victim.done
	victim.done <- err
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("killed member: %v", err)
	}
	killedPrinted := victim.printed(t)
	produceRecorded(100)

	// The session timeout (the client's default, 45 s) has to pass before
	// the coordinator gives the killed member's partitions away.
	deadline := time.Now().Add(150 * time.Second)
	for {
		seen := map[string]bool{}
		for _, m := range members {
			for _, v := range m.printed(t) {
				seen[v] = true
			}
		}
		missing := 0
		for v := range produced {
			if !seen[v] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records never printed", missing, len(produced))
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, m := range members[1:] {
		m.stop(t)
	}

	byVictim := map[string]bool{}
	for _, v := range killedPrinted {
		byVictim[v] = true
	}
	counts := map[string]int{}
	for _, m := range members {
		for _, v := range m.printed(t) {
			if !produced[v] {
				t.Fatalf("printed %q, which was never produced", v)
			}
			counts[v]++
		}
	}
	dups := 0
	for v, n := range counts {
		if n > 1 {
			dups++
			if !byVictim[v] {
				t.Errorf("%q printed %d times, but not by the killed member", v, n)
			}
		}
	}
	t.Logf("%d records, %d printed by the killed member, %d printed twice", len(produced), len(killedPrinted), dups)
}
