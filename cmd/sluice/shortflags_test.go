package main

import (
	"io"
	"strings"
	"testing"
)

// TestShortFlags checks the one-letter flags Kafka and rpk users type.
func TestShortFlags(t *testing.T) {
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	root := a.rootCommand()
	for _, tt := range []struct {
		path  []string
		short string
		long  string
	}{
		{[]string{"topic", "create"}, "p", "partitions"},
		{[]string{"topic", "create"}, "r", "replication-factor"},
		{[]string{"topic", "create"}, "c", "config"},
		{[]string{"topic", "alter"}, "c", "config"},
		{[]string{"produce"}, "p", "partition"},
		{[]string{"produce"}, "f", "file"},
		{[]string{"consume"}, "p", "partition"},
		{[]string{"partition", "delete-records"}, "p", "partition"},
	} {
		cmd, _, err := root.Find(tt.path)
		if err != nil {
			t.Fatalf("%v: %v", tt.path, err)
		}
		f := cmd.Flags().ShorthandLookup(tt.short)
		if f == nil || f.Name != tt.long {
			t.Errorf("%v -%s: got %v, want --%s", tt.path, tt.short, f, tt.long)
		}
	}
}
