package main

import (
	"strings"
	"testing"
)

func TestCLIGroupUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"group", "describe"},                            // missing group
		{"group", "reset-offsets", "g", "--topic", "t"},  // no target
		{"group", "reset-offsets", "g", "--to-earliest"}, // no topic
		{"group", "reset-offsets", "g", "--topic", "t", "--to-latest", "--to-earliest"},
		{"group", "reset-offsets", "g", "--topic", "t", "--to-datetime", "yesterday"},
		{"consume", "t", "--group", "g", "--offset", "3"},
		{"consume", "t", "--group", "g", "--partition", "0"},
	} {
		code, _, stderr := runCLI(t, "", args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, stderr)
		}
		if !strings.Contains(stderr, "sluice: ") {
			t.Errorf("%v: no reason on stderr: %q", args, stderr)
		}
	}
}
