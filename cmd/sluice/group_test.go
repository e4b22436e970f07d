package main

import (
	"strings"
	"testing"
	"time"
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

func TestCLIGroupParseDatetime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2026-01-02T15:04:05Z":      time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC),
		"2026-01-02T15:04:05+01:00": time.Date(2026, 1, 2, 14, 4, 5, 0, time.UTC),
		"2026-01-02T15:04":          time.Date(2026, 1, 2, 15, 4, 0, 0, time.UTC),
		"2026-01-02":                time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC),
	} {
		got, err := parseDatetime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseDatetime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseDatetime("02/01/2026"); err == nil {
		t.Error("parseDatetime accepted 02/01/2026")
	}
}
