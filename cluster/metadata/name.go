package metadata

import (
	"strings"

	"github.com/sluice-mq/sluice/messages"
)

// MaxTopicNameLength is Kafka's limit on topic name length.
const MaxTopicNameLength = 249

// ValidateTopicName applies Kafka's rules: 1 to 249 characters from
// [a-zA-Z0-9._-], and not "." or "..". The error wraps
// messages.ErrInvalidTopic and says what is wrong.
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return messages.Wrap(messages.ErrorCode_INVALID_TOPIC_EXCEPTION, "topic name is empty")
	case name == "." || name == "..":
		return messages.Wrap(messages.ErrorCode_INVALID_TOPIC_EXCEPTION, "topic name cannot be %q", name)
	case len(name) > MaxTopicNameLength:
		return messages.Wrap(messages.ErrorCode_INVALID_TOPIC_EXCEPTION,
			"topic name is %d characters long, the maximum is %d", len(name), MaxTopicNameLength)
	}
	for i := 0; i < len(name); i++ {
		if !legalTopicChar(name[i]) {
			return messages.Wrap(messages.ErrorCode_INVALID_TOPIC_EXCEPTION,
				"topic name %q contains %q at position %d; legal characters are ASCII letters, digits, '.', '_' and '-'",
				name, rune(name[i]), i)
		}
	}
	return nil
}

func legalTopicChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// CollidingName returns the name metrics would use for a topic: '.'
// replaced by '_'. Kafka refuses a topic whose colliding name equals an
// existing topic's.
func CollidingName(name string) string {
	return strings.ReplaceAll(name, ".", "_")
}
