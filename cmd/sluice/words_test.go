package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/messages"
)

func TestCLIVersion(t *testing.T) {
	code, stdout, _ := runCLI(t, "", "--version")
	if code != 0 || !strings.HasPrefix(stdout, "sluice ") || !strings.Contains(stdout, "(commit ") || !strings.Contains(stdout, ", go1.") {
		t.Fatalf("--version: exit %d, %q", code, stdout)
	}
	code, stdout, _ = runCLI(t, "", "version", "-o", "json")
	var v map[string]string
	if err := json.Unmarshal([]byte(stdout), &v); code != 0 || err != nil || v["version"] == "" || v["commit"] == "" ||
		!strings.HasPrefix(v["go_version"], "go") {
		t.Fatalf("version -o json: exit %d, %q (%v)", code, stdout, err)
	}
}

func TestCLIFlagErrorsInWords(t *testing.T) {
	for args, want := range map[string][]string{
		`sluice: --max-messages "x": want a whole number`:                 {"consume", "t", "--max-messages", "x"},
		`sluice: --timeout "5": want a duration such as 500ms, 30s or 2h`: {"consume", "t", "--timeout", "5"},
		`sluice: --partitions "many": want a whole number`:                {"topic", "create", "t", "--partitions", "many"},
	} {
		code, _, stderr := runCLI(t, "", want...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code != 2 || lines[len(lines)-1] != args {
			t.Errorf("%v: exit %d, last line %q, want %q", want, code, lines[len(lines)-1], args)
		}
	}
}

func TestCLIErrorHasNoDoubledPrefix(t *testing.T) {
	err := fmt.Errorf("create topic %q: %w", "T/x", messages.ErrorForCode(messages.ErrorCode_INVALID_TOPIC_EXCEPTION, "bad name"))
	if got := describeError(err); got != `create topic "T/x": INVALID_TOPIC_EXCEPTION: bad name` {
		t.Fatalf("got %q", got)
	}
	if got := describeError(messages.ErrorForCode(messages.ErrorCode_INVALID_CONFIG, "x")); got != "INVALID_CONFIG: x" {
		t.Fatalf("got %q", got)
	}
}

func TestCLIPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 records", 1: "1 record", 2: "2 records"} {
		if got := plural(n, "record"); got != want {
			t.Errorf("plural(%d) = %q", n, got)
		}
	}
}
