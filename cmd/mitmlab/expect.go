package main

import (
	"fmt"
	"strings"

	"github.com/mitmlab/mitmlab/scenarios"
)

// expectation is an outcome `mitmlab run --expect` can check, defined on
// scenarios.Outcome alone: what the nodes really did, never the
// scenario's script. docs/cli.md lists them from this table.
type expectation struct {
	name  string
	means string // what must be true, in a trainer's words
	holds func(o *scenarios.Outcome) bool
}

func expectations() []expectation {
	return []expectation{
		{
			name:  "read",
			means: "the attacker recovered at least one message, byte for byte",
			holds: func(o *scenarios.Outcome) bool { return o.AttackerRead() > 0 },
		},
		{
			name:  "refused",
			means: "a victim refused the other before any message was sent",
			holds: func(o *scenarios.Outcome) bool { return o.Detected && o.MessagesSent() == 0 },
		},
		{
			name:  "detected",
			means: "a victim detected the attack, at any point (a refused run too)",
			holds: func(o *scenarios.Outcome) bool { return o.Detected },
		},
		{
			name:  "clean",
			means: "every message delivered intact and unread; nothing detected or failed",
			holds: func(o *scenarios.Outcome) bool {
				return o.AttackerRead() == 0 && o.MessagesDelivered() == len(o.Messages) &&
					o.Duplicated == 0 && o.Extra == 0 && !o.Detected && o.Reason == ""
			},
		},
	}
}

func expectationNames() []string {
	var names []string
	for _, x := range expectations() {
		names = append(names, x.name)
	}
	return names
}

// expectationList is "read, refused, detected or clean".
func expectationList() string {
	names := expectationNames()
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// expectationsHelp is the table of expectations for --help.
func expectationsHelp() string {
	var b strings.Builder
	for _, x := range expectations() {
		fmt.Fprintf(&b, "  %-9s %s\n", x.name, x.means)
	}
	return b.String()
}

func lookupExpectation(cmd, name string) (*expectation, error) {
	for _, x := range expectations() {
		if x.name == name {
			return &x, nil
		}
	}
	return nil, usagef("%s: --expect %q is not an outcome; one of %s%s", cmd, name, strings.Join(expectationNames(), ", "), didYouMean(name, expectationNames()))
}

// expectError is an outcome that is not the one expected: exit code 1.
type expectError struct {
	want    *expectation
	summary string
}

func (e *expectError) Error() string {
	return fmt.Sprintf("expected %s (%s), but %s", e.want.name, e.want.means, e.summary)
}

// check returns an *expectError if o is not what x expects; a nil x
// expects nothing.
func (x *expectation) check(o *scenarios.Outcome) error {
	if x == nil || x.holds(o) {
		return nil
	}
	return &expectError{want: x, summary: o.Summary()}
}
