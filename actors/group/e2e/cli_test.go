package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/cluster/clustertest"
)

// sluice runs the sluice binary against node 0 and returns its exit code
// and output.
func sluice(t *testing.T, c *clustertest.Cluster, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.CommandContext(testCtx(t), sluiceBinary(t), append([]string{"--brokers", c.Addr(0)}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("sluice %v: %v", args, err)
	}
	return code, out.String(), errb.String()
}

// sluiceJSON runs sluice with -o json and decodes its output into v.
func sluiceJSON(t *testing.T, c *clustertest.Cluster, v any, args ...string) {
	t.Helper()
	code, out, errOut := sluice(t, c, append(args, "-o", "json")...)
	if code != 0 {
		t.Fatalf("sluice %v: exit %d: %s", args, code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("sluice %v: %v in %q", args, err, out)
	}
}

type describedPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Committed int64  `json:"committed_offset"`
	End       int64  `json:"log_end_offset"`
	Lag       int64  `json:"lag"`
	MemberID  string `json:"member_id"`
}

type described struct {
	State      string               `json:"state"`
	Members    []json.RawMessage    `json:"members"`
	Partitions []describedPartition `json:"partitions"`
}

func committedOf(t *testing.T, cl *client.Client, group string) map[int32]int64 {
	t.Helper()
	offs, err := cl.CommittedOffsets(testCtx(t), group)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for tp, o := range offs {
		out[tp.Partition] = o.Offset
	}
	return out
}

func TestGroupE2ECLI(t *testing.T) {
	c := clustertest.Start(t, 1)
	cl := newClient(t, c)
	if _, err := cl.CreateTopic(testCtx(t), "orders", 3, 1, nil); err != nil {
		t.Fatal(err)
	}
	produce(t, cl, "orders", 3, 10)

	// The console consumer in a group reads everything, commits and
	// leaves.
	code, out, errOut := sluice(t, c, "consume", "orders", "--group", "billing", "--from-beginning", "--max-messages", "30", "--timeout", "30s")
	if code != 0 || strings.Count(out, "\n") != 30 {
		t.Fatalf("consume --group: exit %d, %d lines, stderr %s", code, strings.Count(out, "\n"), errOut)
	}
	produce(t, cl, "orders", 3, 5)

	var groups []client.GroupListing
	sluiceJSON(t, c, &groups, "group", "list")
	if len(groups) != 1 || groups[0].GroupID != "billing" || groups[0].State != "Empty" {
		t.Fatalf("group list: %+v", groups)
	}
	var d described
	sluiceJSON(t, c, &d, "group", "describe", "billing")
	if d.State != "Empty" || len(d.Partitions) != 3 {
		t.Fatalf("describe: %+v", d)
	}
	for _, p := range d.Partitions {
		if p.Committed != 10 || p.End != 15 || p.Lag != 5 {
			t.Fatalf("describe partition: %+v, want committed 10, end 15, lag 5", p)
		}
	}

	// With a member the group is described with its owner, and resetting
	// is refused.
	m := startMember(t, cl, groupConfig("billing", "orders"))
	waitUntil(t, func() error { return ownedOnce("orders", 3, m) })
	waitUntil(t, func() error {
		sluiceJSON(t, c, &d, "group", "describe", "billing")
		if d.State != "Stable" || len(d.Members) != 1 {
			return fmt.Errorf("describe: %s with %d members", d.State, len(d.Members))
		}
		for _, p := range d.Partitions {
			if p.MemberID == "" || p.Lag != 0 {
				return fmt.Errorf("partition %+v: want an owner and no lag", p)
			}
		}
		return nil
	})
	code, _, errOut = sluice(t, c, "group", "reset-offsets", "billing", "--topic", "orders", "--to-earliest")
	if code != 1 || !strings.Contains(errOut, "stop its consumers") {
		t.Fatalf("reset of an active group: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := sluice(t, c, "group", "delete", "billing"); code != 1 {
		t.Fatalf("delete of an active group: exit %d", code)
	}
	m.close()

	// Resets on the empty group.
	sluiceOK := func(args ...string) string {
		t.Helper()
		code, out, errOut := sluice(t, c, args...)
		if code != 0 {
			t.Fatalf("sluice %v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	for _, preview := range [][]string{{"--dry-run"}, nil} { // a preview unless --execute
		args := append([]string{"group", "reset-offsets", "billing", "--topic", "orders", "--to-earliest"}, preview...)
		out = sluiceOK(args...)
		if !strings.Contains(out, "dry run") || !strings.Contains(out, "--execute") {
			t.Fatalf("%v: preview output %q", args, out)
		}
		if got := committedOf(t, cl, "billing"); got[0] != 15 || got[1] != 15 || got[2] != 15 {
			t.Fatalf("%v: preview changed offsets: %v", args, got)
		}
	}
	if code, _, _ := sluice(t, c, "group", "reset-offsets", "billing", "--topic", "orders", "--to-earliest", "--dry-run", "--execute"); code != 2 {
		t.Fatalf("reset with --dry-run and --execute: exit %d, want 2", code)
	}
	sluiceOK("group", "reset-offsets", "billing", "--topic", "orders", "--to-earliest", "--execute")
	if got := committedOf(t, cl, "billing"); got[0] != 0 || got[1] != 0 || got[2] != 0 {
		t.Fatalf("after --to-earliest: %v", got)
	}
	sluiceOK("group", "reset-offsets", "billing", "--topic", "orders:1", "--to-offset", "3", "--execute")
	sluiceOK("group", "reset-offsets", "billing", "--topic", "orders:1,2", "--shift-by", "2", "--execute")
	sluiceOK("group", "reset-offsets", "billing", "--topic", "orders:0", "--to-offset", "99", "--execute") // kept within the log
	if code, _, errOut := sluice(t, c, "group", "reset-offsets", "billing", "--topic", "orders:7", "--to-earliest", "--execute"); code != 1 ||
		!strings.Contains(errOut, "orders/7") || !strings.Contains(errOut, "topic has 3 partitions") {
		t.Fatalf("reset of a partition the topic lacks: exit %d, %q", code, errOut)
	}
	if code, _, errOut := sluice(t, c, "group", "reset-offsets", "billing", "--topic", "orders:x", "--to-earliest"); code != 2 ||
		!strings.Contains(errOut, `partition "x"`) {
		t.Fatalf("reset of partition x: exit %d, %q", code, errOut)
	}
	if got := committedOf(t, cl, "billing"); got[0] != 15 || got[1] != 5 || got[2] != 2 {
		t.Fatalf("after resets: %v, want 15, 5, 2", got)
	}
	sluiceOK("group", "reset-offsets", "billing", "--topic", "orders", "--to-datetime", "2999-01-01T00:00:00Z", "--execute")
	if got := committedOf(t, cl, "billing"); got[0] != 15 || got[1] != 15 || got[2] != 15 {
		t.Fatalf("after --to-datetime in the future: %v", got)
	}
	sluiceOK("group", "reset-offsets", "billing", "--topic", "orders", "--to-datetime", "2000-01-01T00:00:00Z", "--execute")
	if got := committedOf(t, cl, "billing"); got[0] != 0 || got[1] != 0 || got[2] != 0 {
		t.Fatalf("after --to-datetime in the past: %v", got)
	}

	// The console consumer resumes from the reset offsets.
	code, out, _ = sluice(t, c, "consume", "orders", "--group", "billing", "--max-messages", "45", "--timeout", "30s")
	if code != 0 || strings.Count(out, "\n") != 45 {
		t.Fatalf("consume after reset: exit %d, %d lines", code, strings.Count(out, "\n"))
	}

	sluiceOK("group", "delete", "billing")
	sluiceJSON(t, c, &groups, "group", "list")
	if len(groups) != 0 {
		t.Fatalf("group list after delete: %+v", groups)
	}
	if code, _, errOut := sluice(t, c, "group", "delete", "billing"); code != 1 || !strings.Contains(errOut, "GROUP_ID_NOT_FOUND") {
		t.Fatalf("delete twice: exit %d, %q", code, errOut)
	}
	if code, _, _ := sluice(t, c, "group", "reset-offsets", "billing", "--topic", "orders"); code != 2 {
		t.Fatalf("reset without a target: exit %d, want 2", code)
	}
}
