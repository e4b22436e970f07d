package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/cluster/clustertest"
	"github.com/sluice-mq/sluice/cluster/consul/consultest"
)

// confluentPython returns a python3 that imports confluent_kafka (Debian's
// python3-confluent-kafka installs it for the system interpreter, which
// may not be the first python3 on PATH). Without one the test fails when
// the suite requires every dependency (SLUICE_REQUIRE_CONSUL=1, as make
// test sets; make confluent-kafka installs it) and is skipped otherwise.
func confluentPython(t *testing.T) string {
	t.Helper()
	var tried []string
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, py := range candidates {
		out, err := exec.Command(py, "-c", "import confluent_kafka; print(confluent_kafka.libversion()[0])").CombinedOutput()
		if err == nil {
			t.Logf("%s: librdkafka %s", py, strings.TrimSpace(string(out)))
			return py
		}
		tried = append(tried, py+": "+strings.TrimSpace(lastLine(string(out))))
	}
	msg := "no python3 with confluent_kafka (make confluent-kafka installs python3-confluent-kafka): " + strings.Join(tried, "; ")
	if os.Getenv(consultest.EnvRequire) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestConfluentKafkaPython runs testdata/confluent_kafka_check.py
// (confluent-kafka-python on librdkafka) against a node: an idempotent
// producer, a group of two members splitting four partitions, and
// transactions committed and aborted as read_committed and
// read_uncommitted consumers see them.
func TestConfluentKafkaPython(t *testing.T) {
	py := confluentPython(t)
	c := clustertest.Start(t, 1, clustertest.WithLogLevel("warn"))
	admin := newClient(t, c)
	createTopic(t, admin, "py-idem", 3, nil)
	createTopic(t, admin, "py-group", 4, nil)
	createTopic(t, admin, "py-txn", 1, nil)
	cmd := exec.CommandContext(testCtx(t), py, "testdata/confluent_kafka_check.py", c.Kafka(0), "py-idem", "py-group", "py-txn")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	t.Logf("script output:\n%s", out.String())
	if err != nil {
		t.Fatalf("confluent_kafka_check.py: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"ok idempotence", "ok group", "ok transactions read_committed", "ok transactions read_uncommitted"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("script did not report %q", want)
		}
	}
}
