package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// cliRecord is a record as `sluice consume --format json` prints it.
type cliRecord struct {
	Topic     string            `json:"topic"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Key       *string           `json:"key"`
	Value     *string           `json:"value"`
	Headers   map[string]string `json:"headers"`
}

// actorSeeds is every node's actor address, for the sluice CLI.
func (e *kenv) actorSeeds() string {
	addrs := make([]string, e.c.Len())
	for i := range addrs {
		addrs[i] = e.c.Addr(i)
	}
	return strings.Join(addrs, ",")
}

// sluice runs the sluice CLI (the actor client) and returns its stdout;
// it fails the test unless the CLI exits 0.
func (e *kenv) sluice(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(testCtx(t), sluiceBinary(t), append([]string{"--brokers", e.actorSeeds()}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("sluice %v: %v\nstdout: %s\nstderr: %s", args, err, out.String(), errOut.String())
	}
	return out.String()
}

// parseCLI decodes `sluice consume --format json` output.
func parseCLI(t *testing.T, out string) []cliRecord {
	t.Helper()
	var recs []cliRecord
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var r cliRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Value == nil {
			t.Fatalf("sluice consume printed %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// frontDoors checks that the Kafka listener and the actor client (the
// sluice CLI) are two doors onto the same logs and groups: records
// produced through one are read through the other, at the same offsets,
// and a kgo member and a `sluice consume --group` member split one
// group's partitions and resume from each other's commits.
func frontDoors(t *testing.T, e *kenv) {
	// Kafka in, actor client out: keys, values, headers, offsets.
	createTopicRF(t, e.admin, "doors-kafka", 3, 3, nil)
	p := newClient(t, e.c, kgo.DefaultProduceTopic("doors-kafka"))
	var recs []*kgo.Record
	for i := range 60 {
		recs = append(recs, &kgo.Record{Key: []byte("k" + strconv.Itoa(i%5)), Value: []byte("v" + strconv.Itoa(i)),
			Headers: []kgo.RecordHeader{{Key: "n", Value: []byte(strconv.Itoa(i))}}})
	}
	res := p.ProduceSync(testCtx(t), recs...)
	if err := res.FirstErr(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]*kgo.Record{}
	for _, r := range res {
		acked[string(r.Record.Value)] = r.Record
	}
	got := parseCLI(t, e.sluice(t, "", "consume", "doors-kafka", "--from-beginning", "--max-messages", "60", "--format", "json"))
	if len(got) != 60 {
		t.Fatalf("sluice consume read %d of 60 records", len(got))
	}
	for _, r := range got {
		a := acked[*r.Value]
		if a == nil || r.Key == nil || *r.Key != string(a.Key) || r.Partition != a.Partition || r.Offset != a.Offset ||
			r.Headers["n"] != strings.TrimPrefix(*r.Value, "v") {
			t.Fatalf("sluice consume read %+v, kgo produced %+v", r, a)
		}
	}

	// Actor client in, Kafka out.
	e.sluice(t, "", "topic", "create", "doors-actor", "--partitions", "3", "--replication-factor", "3")
	var in strings.Builder
	for i := range 60 {
		fmt.Fprintf(&in, "k%d:v%d\n", i%5, i)
	}
	e.sluice(t, in.String(), "produce", "doors-actor", "--key-separator", ":", "--acks", "all")
	cons := newClient(t, e.c, kgo.ConsumeTopics("doors-actor"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	seen := map[string]string{}
	for len(seen) < 60 {
		fs := cons.PollFetches(testCtx(t))
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if _, dup := seen[string(r.Value)]; dup {
				t.Errorf("kgo read %s twice", r.Value)
			}
			seen[string(r.Value)] = string(r.Key)
		})
	}
	for i := range 60 {
		if k := seen["v"+strconv.Itoa(i)]; k != "k"+strconv.Itoa(i%5) {
			t.Fatalf("kgo read v%d with key %q", i, k)
		}
	}

	mixedGroup(t, e)
}

// cliMember is a `sluice consume --group` process; its printed records
// are collected by a goroutine that ends when the process closes stdout.
type cliMember struct {
	cmd  *exec.Cmd
	done chan struct{}

	mu   sync.Mutex
	recs []cliRecord
	bad  []string
}

func startCLIMember(t *testing.T, e *kenv, args ...string) *cliMember {
	t.Helper()
	m := &cliMember{done: make(chan struct{})}
	m.cmd = exec.Command(sluiceBinary(t), append([]string{"--brokers", e.actorSeeds()}, args...)...)
	var errOut bytes.Buffer
	m.cmd.Stderr = &errOut
	out, err := m.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(m.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var r cliRecord
			m.mu.Lock()
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.Value == nil {
				m.bad = append(m.bad, sc.Text())
			} else {
				m.recs = append(m.recs, r)
			}
			m.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if m.cmd.ProcessState == nil {
			_ = m.cmd.Process.Kill()
			<-m.done
			_ = m.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("sluice consume --group stderr:\n%s", errOut.String())
		}
	})
	return m
}

// records is what the member printed so far.
func (m *cliMember) records() []cliRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.recs)
}

// stop interrupts the member (it commits what it printed and leaves the
// group) and waits for it to exit 0.
func (m *cliMember) stop(t *testing.T) {
	t.Helper()
	if err := m.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	m.wait(t)
}

// wait waits for the member to exit by itself with status 0.
func (m *cliMember) wait(t *testing.T) {
	t.Helper()
	select {
	case <-m.done:
	case <-time.After(waitTimeout):
		t.Fatalf("sluice consume --group did not exit within %s", waitTimeout)
	}
	if err := m.cmd.Wait(); err != nil {
		t.Fatalf("sluice consume --group: %v", err)
	}
	if len(m.bad) > 0 {
		t.Fatalf("sluice consume --group printed %q", m.bad)
	}
}

// mixedGroup puts a kgo member and a `sluice consume --group` member in
// one group: they split the partitions, and each resumes from the other's
// commits, so every record is consumed exactly once across both.
func mixedGroup(t *testing.T, e *kenv) {
	const topic, group, parts = "doors-group", "doors", 4
	createTopicRF(t, e.admin, topic, parts, 3, nil)
	e.waitInSync(topic)
	p := newClient(t, e.c, kgo.DefaultProduceTopic(topic))
	produced := 0
	produce := func(n int) {
		t.Helper()
		var recs []*kgo.Record
		for range n {
			recs = append(recs, &kgo.Record{Key: []byte(strconv.Itoa(produced)), Value: []byte("m" + strconv.Itoa(produced))})
			produced++
		}
		if err := p.ProduceSync(testCtx(t), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// The kgo member offers what the sluice consumer offers by default
	// (Java's default too): range first, then cooperative-sticky.
	g := &groupRun{t: t, e: e, topic: topic, group: group, seen: map[string]int{}}
	k := g.join("kgo", kgo.Balancers(kgo.RangeBalancer(), kgo.CooperativeStickyBalancer()))
	g.split(0, parts)

	// The CLI joins: two partitions each; records go to both.
	cm := startCLIMember(t, e, "consume", topic, "--group", group, "--from-beginning", "--format", "json")
	g.split(0, parts/2)
	produce(200)
	g.pollUntil("both members consumed every record", func() error {
		if n := len(g.seen) + len(cm.records()); n < produced {
			return fmt.Errorf("kgo %d + sluice %d of %d records", len(g.seen), len(cm.records()), produced)
		}
		return nil
	})
	owned, _ := k.state()
	for _, r := range cm.records() {
		if slices.Contains(owned, r.Partition) {
			t.Fatalf("sluice read partition %d, which kgo owns (%v)", r.Partition, owned)
		}
	}
	if len(g.seen) == 0 || len(cm.records()) == 0 {
		t.Fatalf("kgo read %d, sluice %d: want the partitions split", len(g.seen), len(cm.records()))
	}

	// The CLI leaves (committing what it printed): kgo takes over its
	// partitions at its commits.
	cm.stop(t)
	produce(100)
	g.split(produced-len(cm.records()), parts)
	counts := map[string]int{}
	for v, n := range g.seen {
		counts[v] += n
	}
	for _, r := range cm.records() {
		counts[*r.Value]++
	}

	// kgo leaves (committed): a new sluice member resumes at its commits,
	// not at the beginning.
	g.leave(k)
	produce(40)
	again := startCLIMember(t, e, "consume", topic, "--group", group, "--from-beginning", "--format", "json", "--max-messages", "40")
	again.wait(t)
	for _, r := range again.records() {
		counts[*r.Value]++
	}
	for i := range produced {
		if n := counts["m"+strconv.Itoa(i)]; n != 1 {
			t.Fatalf("record m%d consumed %d times across the members (of %d records)", i, n, produced)
		}
	}
}
