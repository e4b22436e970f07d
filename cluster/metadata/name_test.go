package metadata

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluice-mq/sluice/messages"
)

func TestTopicNameValidation(t *testing.T) {
	cases := []struct {
		name    string
		ok      bool
		message string // part of the error message
	}{
		// Legal names.
		{"orders", true, ""},
		{"a", true, ""},
		{"Orders.v2_eu-west", true, ""},
		{"...", true, ""},
		{strings.Repeat("x", 249), true, ""},
		// Illegal names.
		{"", false, "empty"},
		{".", false, `cannot be "."`},
		{"..", false, `cannot be ".."`},
		{strings.Repeat("x", 250), false, "250 characters"},
		{"a/b", false, `'/'`},
		{"with space", false, `' '`},
		{"ünicode", false, "position 0"},
		{"tab\t", false, "position 3"},
	}
	for _, tc := range cases {
		err := ValidateTopicName(tc.name)
		if tc.ok {
			if err != nil {
				t.Errorf("ValidateTopicName(%q) = %v, want nil", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, messages.ErrInvalidTopic) {
			t.Errorf("ValidateTopicName(%q) = %v, want ErrInvalidTopic", tc.name, err)
			continue
		}
		if messages.CodeFor(err) != messages.ErrorCode_INVALID_TOPIC_EXCEPTION {
			t.Errorf("ValidateTopicName(%q) code = %v", tc.name, messages.CodeFor(err))
		}
		if !strings.Contains(err.Error(), tc.message) {
			t.Errorf("ValidateTopicName(%q) = %q, want it to mention %q", tc.name, err, tc.message)
		}
	}
}

func TestTopicNameColliding(t *testing.T) {
	if CollidingName("a.b_c") != CollidingName("a_b.c") {
		t.Fatal("a.b_c and a_b.c should collide")
	}
	if CollidingName("ab") == CollidingName("a.b") {
		t.Fatal("ab and a.b should not collide")
	}
}
