package e2e

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// kcat runs kcat against broker with args and stdin, and returns stdout.
func kcat(t *testing.T, broker, stdin string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatalf("kcat is not installed (make kcat installs it): %v", err)
	}
	cmd := exec.CommandContext(testCtx(t), path, append([]string{"-b", broker}, args...)...)
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

// rawBatches fetches partition 0 of topic from offset 0 and returns the
// attributes (codec bits) of every batch as stored.
func rawCodecs(t *testing.T, addr, topic string) []int {
	t.Helper()
	cl := newClientAt(t, addr)
	req := kmsg.NewPtrFetchRequest()
	req.MaxBytes, req.MaxWaitMillis = 1<<20, 0
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.PartitionMaxBytes = 1 << 20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), cl)
	if err != nil {
		t.Fatal(err)
	}
	b := resp.Topics[0].Partitions[0].RecordBatches
	var codecs []int
	for len(b) >= 61 {
		n := int(binary.BigEndian.Uint32(b[8:])) + 12
		codecs = append(codecs, int(binary.BigEndian.Uint16(b[21:])&7))
		b = b[n:]
	}
	return codecs
}

// TestKcat drives kcat (librdkafka) against one node: metadata, keyed
// lines, consume from the beginning, a group resuming, every codec
// (arriving compressed), headers, and a tail with -o -10.
func TestKcat(t *testing.T) {
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	b := c.Kafka(0)
	admin := newClient(t, c)
	createTopic(t, admin, "lines", 3, nil)

	if out := kcat(t, b, "", "-L", "-t", "lines"); !strings.Contains(out, "broker 1 at "+b) ||
		!strings.Contains(out, `topic "lines" with 3 partitions`) {
		t.Fatalf("metadata:\n%s", out)
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

	// Every codec: the batches are stored compressed, as kcat sent them
	// (librdkafka sends a batch uncompressed when compressing does not
	// shrink it, so the records are compressible and batched).
	var text strings.Builder
	for i := range 200 {
		fmt.Fprintf(&text, "record-%03d-%s\n", i, strings.Repeat("abcdefgh", 8))
	}
	for codec, bits := range map[string]int{"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4} {
		topic := "codec-" + codec
		createTopic(t, admin, topic, 1, nil)
		kcat(t, b, text.String(), "-P", "-t", topic, "-z", codec, "-X", "linger.ms=200")
		codecs := rawCodecs(t, b, topic)
		if len(codecs) == 0 {
			t.Fatalf("%s: no batch stored", codec)
		}
		for _, got := range codecs {
			if got != bits {
				t.Fatalf("%s: stored batch codecs %v, want every one %d", codec, codecs, bits)
			}
		}
		got := lines(kcat(t, b, "", "-C", "-t", topic, "-o", "beginning", "-e", "-f", "%s\n"))
		if strings.Join(got, ",") != strings.Join(lines(text.String()), ",") {
			t.Fatalf("%s: read %d records back, want 200 equal", codec, len(got))
		}
	}

	// Headers.
	createTopic(t, admin, "headers", 1, nil)
	kcat(t, b, "payload\n", "-P", "-t", "headers", "-H", "trace=abc", "-H", "n=1")
	if got := kcat(t, b, "", "-C", "-t", "headers", "-o", "beginning", "-e", "-f", "%h %s\n"); got != "trace=abc,n=1 payload\n" {
		t.Fatalf("headers: %q", got)
	}

	// Tail: the last 10 of 25 records of one partition.
	createTopic(t, admin, "tail", 1, nil)
	var tail strings.Builder
	for i := range 25 {
		fmt.Fprintf(&tail, "r%02d\n", i)
	}
	kcat(t, b, tail.String(), "-P", "-t", "tail")
	if got := lines(kcat(t, b, "", "-C", "-t", "tail", "-o", "-10", "-e", "-f", "%s\n")); len(got) != 10 || got[0] != "r15" || got[9] != "r24" {
		t.Fatalf("tail: %v", got)
	}
}

func lines(s string) []string {
	out := strings.Fields(s)
	sort.Strings(out)
	return out
}
