package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestGetPrefersLinkedValues(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abcdef"}, {Key: "vcs.modified", Value: "true"}}}
	read := func() (*debug.BuildInfo, bool) { return bi, true }
	if got := get("v9.0.0", "123", read); got.Version != "v9.0.0" || got.Commit != "123" || got.GoVersion != "go1.99" {
		t.Fatalf("linked: %+v", got)
	}
	if got := get("", "", read); got.Version != "v1.2.3" || got.Commit != "abcdef-dirty" {
		t.Fatalf("build info: %+v", got)
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	got := get("", "", none)
	if got.Version != "dev" || got.Commit != "unknown" || !strings.HasPrefix(got.GoVersion, "go") {
		t.Fatalf("nothing known: %+v", got)
	}
	if s := got.String("sluice"); !strings.HasPrefix(s, "sluice dev (commit unknown, go") {
		t.Fatalf("line %q", s)
	}
}
