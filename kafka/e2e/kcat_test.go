package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// kcat runs kcat against brokers (comma separated) with args and stdin,
// and returns stdout.
func kcat(t *testing.T, brokers, stdin string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat is not installed (make kcat installs it): %v", err)
	}
	cmd := exec.CommandContext(testCtx(t), path, append([]string{"-b", brokers}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("kcat %v: %v\n%s", args, err, errOut.String())
	}
	if strings.Contains(errOut.String(), "PROTOERR") || strings.Contains(errOut.String(), "|ERROR|") {
		t.Fatalf("kcat %v reported protocol errors:\n%s", args, errOut.String())
	}
	return out.String()
}

// storedBatch is the header of a record batch as a replica's log holds it.
type storedBatch struct {
	codec   int // attributes & 7
	records int
}

// storedBatches reads partition 0 of topic from the segment files in
// dataDir: every batch, in log order.
func storedBatches(t *testing.T, dataDir, topic string) []storedBatch {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dataDir, topic+"-0", "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []storedBatch
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for len(b) >= 61 {
			n := int(binary.BigEndian.Uint32(b[8:])) + 12
			if n > len(b) {
				break // an append under way
			}
			out = append(out, storedBatch{codec: int(binary.BigEndian.Uint16(b[21:]) & 7), records: int(binary.BigEndian.Uint32(b[57:]))})
			b = b[n:]
		}
	}
	return out
}

// kcatTarget is what runKcat runs against: one node or a cluster.
type kcatTarget struct {
	bootstrap string           // kcat's -b
	admin     *kgo.Client      // creates the topics
	rf        int16            // replication factor of the topics
	brokers   map[int32]string // every node id and its Kafka address
	dataDirs  []string         // every node's data dir
	// inSync waits until every replica of a topic is in sync.
	inSync func(topic string)
}

// TestKcat drives kcat (librdkafka) against one node.
func TestKcat(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	runKcat(t, kcatTarget{bootstrap: c.Kafka(0), admin: newClient(t, c), rf: 1, brokers: brokerAddrs(c),
		dataDirs: []string{c.DataDir(0)}, inSync: func(string) {}})
}

// runKcat drives kcat: metadata, keyed lines, consume from the beginning,
// a group resuming, every codec (stored compressed on every replica),
// headers, and a tail with -o -10.
func runKcat(t *testing.T, k kcatTarget) {
	b := k.bootstrap
	createTopicRF(t, k.admin, "lines", 3, k.rf, nil)
	k.inSync("lines")

	out := kcat(t, b, "", "-L", "-t", "lines")
	if !strings.Contains(out, fmt.Sprintf(" %d brokers:", len(k.brokers))) ||
		!strings.Contains(out, `topic "lines" with 3 partitions`) {
		t.Fatalf("metadata:\n%s", out)
	}
	for id, addr := range k.brokers {
		if !strings.Contains(out, fmt.Sprintf("broker %d at %s", id, addr)) {
			t.Fatalf("metadata does not list broker %d at %s:\n%s", id, addr, out)
		}
	}
	// "partition 0, leader 1, replicas: 1,2,3, isrs: 1,2,3"
	parts := regexp.MustCompile(`partition \d+, leader \d+, replicas: ([\d,]+), isrs: ([\d,]+)`).FindAllStringSubmatch(out, -1)
	if len(parts) != 3 {
		t.Fatalf("metadata: want 3 partitions with leaders:\n%s", out)
	}
	for _, p := range parts {
		if n := len(strings.Split(p[1], ",")); n != int(k.rf) || p[2] != p[1] && len(strings.Split(p[2], ",")) != n {
			t.Fatalf("metadata: want %d replicas in sync: %s\n%s", k.rf, p[0], out)
		}
	}

	var in strings.Builder
	for i := range 30 {
		fmt.Fprintf(&in, "k%d:v%d\n", i, i)
	}
	kcat(t, b, in.String(), "-P", "-t", "lines", "-K:")
	got := lines(kcat(t, b, "", "-C", "-t", "lines", "-o", "beginning", "-e", "-f", "%k:%s\n"))
	want := lines(in.String())
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("consumed %v, want %v", got, want)
	}

	// A group reads everything, then only what came after its commit.
	first := lines(kcat(t, b, "", "-G", "kg", "lines", "-o", "beginning", "-e", "-f", "%s\n", "-X", "auto.commit.interval.ms=100"))
	if len(first) != 30 {
		t.Fatalf("group first run read %d records", len(first))
	}
	kcat(t, b, "new1\nnew2\n", "-P", "-t", "lines", "-p", "0")
	second := lines(kcat(t, b, "", "-G", "kg", "lines", "-e", "-f", "%s\n"))
	if strings.Join(second, ",") != "new1,new2" {
		t.Fatalf("group second run read %v, want only the two new records", second)
	}

	// Every codec: the batches are stored compressed on every replica, as
	// kcat sent them (librdkafka sends a batch uncompressed when
	// compressing does not shrink it, so the records are compressible and
	// batched).
	var text strings.Builder
	for i := range 200 {
		fmt.Fprintf(&text, "record-%03d-%s\n", i, strings.Repeat("abcdefgh", 8))
	}
	for codec, bits := range map[string]int{"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4} {
		topic := "codec-" + codec
		createTopicRF(t, k.admin, topic, 1, k.rf, nil)
		k.inSync(topic)
		kcat(t, b, text.String(), "-P", "-t", topic, "-z", codec, "-X", "linger.ms=200")
		for _, dir := range k.dataDirs {
			batches := awaitStored(t, dir, topic, 200)
			for _, sb := range batches {
				if sb.codec != bits {
					t.Fatalf("%s: batches stored in %s: %v, want every one in codec %d", codec, dir, batches, bits)
				}
			}
		}
		got := lines(kcat(t, b, "", "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%s\n"))
		if strings.Join(got, ",") != strings.Join(lines(text.String()), ",") {
			t.Fatalf("%s: read %d records back, want 200 equal", codec, len(got))
		}
	}

	// Headers.
	createTopicRF(t, k.admin, "headers", 1, k.rf, nil)
	kcat(t, b, "payload\n", "-P", "-t", "headers", "-H", "trace=abc", "-H", "n=1")
	if got := kcat(t, b, "", "-C", "-t", "headers", "-o", "beginning", "-e", "-f", "%h %s\n"); got != "trace=abc,n=1 payload\n" {
		t.Fatalf("headers: %q", got)
	}

	// Tail: the last 10 of 25 records of one partition.
	createTopicRF(t, k.admin, "tail", 1, k.rf, nil)
	var tail strings.Builder
	for i := range 25 {
		fmt.Fprintf(&tail, "r%02d\n", i)
	}
	kcat(t, b, tail.String(), "-P", "-t", "tail")
	if got := lines(kcat(t, b, "", "-C", "-t", "tail", "-o", "-10", "-e", "-f", "%s\n")); len(got) != 10 || got[0] != "r15" || got[9] != "r24" {
		t.Fatalf("tail: %v", got)
	}
}

// awaitStored waits until dataDir's log of topic/0 holds n records and
// returns its batches.
func awaitStored(t *testing.T, dataDir, topic string, n int) []storedBatch {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		batches := storedBatches(t, dataDir, topic)
		total := 0
		for _, sb := range batches {
			total += sb.records
		}
		if total >= n {
			return batches
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d records stored in %s after %s", topic, total, n, dataDir, waitTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func lines(s string) []string {
	out := strings.Fields(s)
	sort.Strings(out)
	return out
}
