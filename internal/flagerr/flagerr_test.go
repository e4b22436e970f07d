package flagerr

import (
	"errors"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func TestDescribe(t *testing.T) {
	for args, want := range map[string]string{
		"--count=x":      `--count "x": want a whole number`,
		"-c=x":           `--count "x": want a whole number`,
		"--wait=5":       `--wait "5": want a duration such as 500ms, 30s or 2h`,
		"--verbose=mayb": `--verbose "mayb": want true or false`,
	} {
		cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }, SilenceUsage: true, SilenceErrors: true}
		cmd.Flags().Int32P("count", "c", 0, "")
		cmd.Flags().Duration("wait", time.Second, "")
		cmd.Flags().Bool("verbose", false, "")
		cmd.SetFlagErrorFunc(Describe)
		cmd.SetArgs([]string{args})
		err := cmd.Execute()
		var fe *Error
		if !errors.As(err, &fe) || err.Error() != want {
			t.Errorf("%s: error %v, want %q", args, err, want)
		}
	}
	other := errors.New("unknown flag: --nope")
	if got := Describe(&cobra.Command{}, other); got != other {
		t.Errorf("other error rewritten: %v", got)
	}
}
