package main

import (
	"errors"
	"strings"

	"github.com/sluice-mq/sluice/client"
	"github.com/sluice-mq/sluice/messages"
)

// describeError is the one line the CLI prints for err: a cluster none of
// whose brokers could be reached is named by address and reason ("cannot
// reach broker 127.0.0.1:9999: connection refused"); other errors are their
// text on one line without the repeated "sluice: " of wire errors.
func describeError(err error) string {
	if na, ok := errors.AsType[*client.NoAnswerError](err); ok {
		return "the brokers took the connection but could not answer to " + na.ClientAddr +
			": set --client-listen to an address of this host they can reach (or --client-advertise behind NAT)"
	}
	if errors.Is(err, messages.ErrNetworkException) {
		if un := unreachable(err, nil); len(un) > 0 {
			parts := make([]string, len(un))
			for i, u := range un {
				parts[i] = u.Error()
			}
			return strings.Join(parts, "; ")
		}
	}
	s := oneLine(err)
	s = strings.TrimPrefix(s, "sluice: ")
	return strings.ReplaceAll(s, ": sluice: ", ": ")
}

// unreachable appends every *client.UnreachableError in err's tree to acc.
func unreachable(err error, acc []*client.UnreachableError) []*client.UnreachableError {
	if u, ok := err.(*client.UnreachableError); ok {
		return append(acc, u)
	}
	switch w := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range w.Unwrap() {
			acc = unreachable(e, acc)
		}
	case interface{ Unwrap() error }:
		if e := w.Unwrap(); e != nil {
			acc = unreachable(e, acc)
		}
	}
	return acc
}
