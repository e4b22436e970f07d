package broker

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var (
	yamlTypeLine    = regexp.MustCompile("^line (\\d+): cannot unmarshal !!\\w+ `(.*)` into (\\S+)$")
	yamlUnknownLine = regexp.MustCompile(`^line (\d+): field (\S+) not found in type \S+$`)
)

// typeWords names a Go type of a config field in plain words.
var typeWords = map[string]string{
	"int": "a whole number", "int32": "a whole number", "int64": "a whole number",
	"uint32": "a whole number >= 0", "float64": "a number",
	"time.Duration": "a duration such as 500ms, 30s or 168h",
	"bool":          "true or false", "string": "a string",
	"[]string": "a list of strings",
}

// describeYAMLError rewrites yaml's unmarshal errors about data in words
// that name the key: "line 2: shutdown_timeout: want a duration such as
// 500ms, 30s or 168h, got 5". Other errors are returned unchanged.
func describeYAMLError(data []byte, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	keys := keysByLine(data)
	lines := make([]string, 0, len(te.Errors))
	for _, msg := range te.Errors {
		if m := yamlTypeLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			want, ok := typeWords[m[3]]
			if !ok {
				want = "a value of another kind"
			}
			lines = append(lines, fmt.Sprintf("line %d: %s: want %s, got %q", line, keyName(keys, line), want, m[2]))
			continue
		}
		if m := yamlUnknownLine.FindStringSubmatch(msg); m != nil {
			hint := ""
			if strings.Contains(m[2], "-") {
				hint = " (keys are written with underscores)"
			}
			lines = append(lines, fmt.Sprintf("line %s: unknown key %q%s", m[1], m[2], hint))
			continue
		}
		lines = append(lines, msg)
	}
	return &describedError{msg: strings.Join(lines, "; "), err: err}
}

// describedError is an error with a plainer message than the one it wraps.
type describedError struct {
	msg string
	err error
}

func (e *describedError) Error() string { return e.msg }
func (e *describedError) Unwrap() error { return e.err }

func keyName(keys map[int]string, line int) string {
	if k, ok := keys[line]; ok {
		return k
	}
	return "value"
}

// keysByLine maps each line of data that holds a value to its dotted key.
func keysByLine(data []byte) map[int]string {
	var root yaml.Node
	keys := map[int]string{}
	if yaml.Unmarshal(data, &root) != nil {
		return keys
	}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, prefix)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				name := k.Value
				if prefix != "" {
					name = prefix + "." + k.Value
				}
				if _, seen := keys[v.Line]; !seen || v.Kind == yaml.ScalarNode {
					keys[v.Line] = name
				}
				walk(v, name)
			}
		}
	}
	walk(&root, "")
	return keys
}
