package flagerr

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

var invalidArg = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-\w, )?(--[\w.-]+)" flag: (.*)$`)

// words names pflag value types in plain words.
var words = map[string]string{
	"int": "a whole number", "int8": "a whole number", "int16": "a whole number", "int32": "a whole number",
	"int64": "a whole number", "uint": "a whole number >= 0", "uint16": "a whole number >= 0",
	"uint32": "a whole number >= 0", "uint64": "a whole number >= 0",
	"float32": "a number", "float64": "a number",
	"duration": "a duration such as 500ms, 30s or 2h",
	"bool":     "true or false",
}

// Describe rewrites a pflag "invalid argument" error of cmd's flags; other
// errors are returned unchanged.
func Describe(cmd *cobra.Command, err error) error {
	m := invalidArg.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	want := "another value"
	if f := cmd.Flags().Lookup(strings.TrimPrefix(m[2], "--")); f != nil {
		if w, ok := words[f.Value.Type()]; ok {
			want = w
		} else {
			want = "a " + f.Value.Type()
		}
	}
	return &Error{Flag: m[2], Value: m[1], Want: want, err: err}
}

// Error is a flag value of the wrong kind.
type Error struct {
	Flag  string // "--node-id"
	Value string // what was given
	Want  string // the kind wanted, in words
	err   error
}

func (e *Error) Error() string { return fmt.Sprintf("%s %q: want %s", e.Flag, e.Value, e.Want) }

// Unwrap returns pflag's error.
func (e *Error) Unwrap() error { return e.err }
