package broker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFileErrorsNameKeyAndType(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	yml := "node_id: abc\nshutdown_timeout: 5\nremote:\n  keepalive_time: soon\nreplica-lag-time: 1s\n"
	if err := os.WriteFile(path, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	c := DefaultConfig()
	err := c.LoadFile(path)
	if err == nil {
		t.Fatal("bad config accepted")
	}
	msg := err.Error()
	for _, want := range []string{
		`line 1: node_id: want a whole number, got "abc"`,
		`line 2: shutdown_timeout: want a duration such as 500ms, 30s or 168h, got "5"`,
		`line 4: remote.keepalive_time: want a duration such as 500ms, 30s or 168h, got "soon"`,
		`line 5: unknown key "replica-lag-time" (keys are written with underscores)`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	for _, goName := range []string{"int32", "time.Duration", "broker.Config", "!!str"} {
		if strings.Contains(msg, goName) {
			t.Errorf("error names Go type %s:\n%s", goName, msg)
		}
	}
}
