// Package problem is the one error type of a run that did not go as
// asked: what kind of end it is, and each problem with the input it is
// about. config (bad input), resolve (a lookup or the changes that
// stopped the run before the purge, targets no zone owns) and command
// (a failed purge, failed checks) make them; action reports them; one
// function in command turns the kind into the exit code and applies
// on-error.
//
// It imports nothing of this module.
package problem

import (
	"errors"
	"fmt"
	"strings"
)

// Kind is how a run ended short of what was asked.
type Kind int

const (
	// Invalid: bad input. Nothing was sent; it always fails the step,
	// whatever on-error says.
	Invalid Kind = iota + 1
	// Stopped: the run stopped before the purge (a lookup failed or was
	// refused, the changes could not be read, wait-for never matched).
	// Nothing was purged. on-error: warn makes it a warning.
	Stopped
	// PurgeFailed: requests of the purge failed. on-error: warn makes it
	// a warning.
	PurgeFailed
	// ChecksFailed: verify: fail found stale URLs after the purge.
	// on-error: warn makes it a warning.
	ChecksFailed
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid input"
	case Stopped:
		return "stopped before the purge"
	case PurgeFailed:
		return "purge failed"
	case ChecksFailed:
		return "checks failed"
	}
	return "unknown"
}

// Problem is one thing wrong, with the input it is about (zone-id,
// timeout, changed-since …), which titles its annotation.
type Problem struct {
	Input   string
	Message string
	// Title, when set, titles the annotation instead of the input's name
	// (a failed purge: "Cloudflare purge failed: timeout").
	Title string
}

// Error is a run's end short of what was asked: its kind and every
// problem. A run's error is one of these or nil.
type Error struct {
	Kind     Kind
	Problems []Problem
}

func (e *Error) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = fmt.Sprintf("%s: %s", p.Input, p.Message)
	}
	if len(msgs) == 0 {
		return e.Kind.String()
	}
	return strings.Join(msgs, "\n")
}

// New is an Error of kind with one problem.
func New(kind Kind, input, format string, args ...any) *Error {
	return &Error{Kind: kind, Problems: []Problem{{Input: input, Message: fmt.Sprintf(format, args...)}}}
}

// KindOf is err's kind: its *Error's, or 0 for nil and for an error that
// is not one (a bug: the caller reports it as it is).
func KindOf(err error) Kind {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Kind
	}
	return 0
}
